from onepool_gateway.main import main

main()
