/* hmdl_target.c - a dependency of hmdl.c, and a library only its RUNPATH
 * finds (built twice, under two names, by tests/conftest.py). */
int hmdl_target(void)
{
    return 42;
}
