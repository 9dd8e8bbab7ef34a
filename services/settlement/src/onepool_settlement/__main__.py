from onepool_settlement.entrypoints.main import main

main()
