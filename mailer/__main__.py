from mailer.cli.app import main

main()
