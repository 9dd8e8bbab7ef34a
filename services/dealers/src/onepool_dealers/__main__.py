from onepool_dealers.entrypoints.main import main

main()
