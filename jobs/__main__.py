"""`python -m jobs`: the same as `ecm jobs`."""

from connector.cli.jobs import jobs

if __name__ == "__main__":
    jobs(prog_name="python -m jobs")
