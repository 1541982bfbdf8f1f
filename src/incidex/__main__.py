from incidex.cli import app

app(prog_name="incidex")
