from onepool_runtime.server import run

from onepool_inventory.entrypoints.bootstrap import build
from onepool_inventory.settings import InventorySettings


def main() -> None:
    run(InventorySettings(), build)


if __name__ == "__main__":
    main()
