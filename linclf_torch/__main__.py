from .cli.parse import command

command()
