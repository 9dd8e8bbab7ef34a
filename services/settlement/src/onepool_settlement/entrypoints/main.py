from onepool_runtime.server import run

from onepool_settlement.entrypoints.bootstrap import build
from onepool_settlement.settings import SettlementSettings


def main() -> None:
    run(SettlementSettings(), build)


if __name__ == "__main__":
    main()
