from onepool_runtime.server import run

from onepool_orders.entrypoints.bootstrap import build
from onepool_orders.settings import OrdersSettings


def main() -> None:
    run(OrdersSettings(), build)


if __name__ == "__main__":
    main()
