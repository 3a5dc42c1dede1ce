from hossctl.cli import main

main()
