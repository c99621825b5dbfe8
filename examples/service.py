"""A long-running "service" for heapmark attach: it answers made-up requests
forever, caching every answer (the cache never shrinks), and logs one line
per thousand requests.

    python examples/service.py &
    heapmark attach $! --duration 5
"""

import time

cache = {}


def render(user, page):
    rows = ["<tr><td>%d</td><td>%s</td></tr>" % (i, user) for i in range(20)]
    return "<table>%s</table>" % "".join(rows)


def handle(request):
    user, page = "user%d" % (request % 5000), request % 7
    key = (user, page, request)
    if key not in cache:
        cache[key] = render(user, page)
    return cache[key]


def main():
    request = 0
    while True:
        handle(request)
        request += 1
        if request % 1000 == 0:
            print("served %d requests, %d cached" % (request, len(cache)), flush=True)
            time.sleep(0.05)


main()
