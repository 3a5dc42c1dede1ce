from hossctl.launch import main

main()
