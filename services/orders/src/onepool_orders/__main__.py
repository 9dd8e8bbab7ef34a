from onepool_orders.entrypoints.main import main

main()
