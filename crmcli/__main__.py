import sys

if sys.argv[1:2] == ["merge-driver"]:  # git's merge driver: a fast path, no CLI start-up
    from crmcli.mergedriver import main as merge_main

    code = merge_main(sys.argv[2:])
    if code >= 0:
        sys.exit(code)

from crmcli.cli import main  # noqa: E402

main()
