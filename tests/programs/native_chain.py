"""Ground truth for --native: hmchain.allocate(n) mallocs n bytes three C
calls down (chain_level1 -> chain_level2 -> chain_level3), and
hmchain.pool_allocate(n) has the native thread the module started when it
was imported malloc n bytes while this line waits for it."""
import sys

import hmchain
from truth import here, write

MB = 1 << 20


def main(out):
    chained = hmchain.allocate(64 * MB); chain_line = here()
    pooled = hmchain.pool_allocate(24 * MB); pool_line = here()
    write(out, peak={chain_line: chained, pool_line: pooled},
          lines={"chain": chain_line, "pool": pool_line})


main(sys.argv[1])
