from onepool_runtime.server import run

from onepool_channels.entrypoints.bootstrap import build
from onepool_channels.settings import ChannelsSettings


def main() -> None:
    run(ChannelsSettings(), build)


if __name__ == "__main__":
    main()
