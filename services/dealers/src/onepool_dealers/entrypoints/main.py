from onepool_runtime.server import run

from onepool_dealers.entrypoints.bootstrap import build
from onepool_dealers.settings import DealersSettings


def main() -> None:
    run(DealersSettings(), build)


if __name__ == "__main__":
    main()
