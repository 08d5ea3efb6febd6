from crmcli.app import main

main()
