from connect_hooks.cli import main

main()
