# The two commands a newcomer needs: `make run` and `make test`.
.PHONY: run test lint bench

run:
	@scripts/bootstrap.sh run
	@scripts/run.sh

test:
	@scripts/bootstrap.sh test
	@scripts/test.sh

lint:
	@.venv/bin/ruff check . && .venv/bin/ruff format --check .

bench:
	@scripts/bootstrap.sh test
	@.venv/bin/python -m bench.run_all
