from onepool_inventory.entrypoints.main import main

main()
