"""The ``computemesh`` command line: builds settings once and starts composition roots."""

import typer

from computemesh.cli import demo, doctor, gateway, identity, node, serve, token, why

app = typer.Typer(help="computemesh: a decentralized AI compute network.", no_args_is_help=True)
node.app.command("why")(why.why)
app.add_typer(node.app, name="node")
app.add_typer(gateway.app, name="gateway")
app.add_typer(identity.app, name="identity")
app.add_typer(token.app, name="token")
app.command("demo")(demo.demo)
app.command("serve")(serve.serve)
app.command("doctor")(doctor.doctor)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
