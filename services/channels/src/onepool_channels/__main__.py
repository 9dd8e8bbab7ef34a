from onepool_channels.entrypoints.main import main

main()
