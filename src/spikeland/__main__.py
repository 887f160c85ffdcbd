from spikeland.cli import main

main()
