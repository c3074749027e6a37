from computemesh.cli import main

main()
