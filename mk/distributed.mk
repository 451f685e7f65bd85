# Exact sums on Dask and Spark (mylib.dask, mylib.spark; issue 16).
#
#   make test-distributed    tests/distributed: mylib.dask.fast_sum on the sync, threaded,
#                            process-pool and LocalCluster schedulers (a worker killed
#                            mid-sum included), mylib.spark.fast_sum on Spark local[2]
#                            for every repartition(k), the packaging
#   make bench-distributed   the two cost ratios (also run by make bench):
#                            bench/results/distributed.{txt,json}
#   make example-distributed examples/python/distributed_sum.py
#
# The engines live in a venv of their own (target/distributed-venv, pinned by
# tests/distributed/requirements.txt), never in the main suite's venv or the
# wheel tests. Spark needs Java 17 (Debian: openjdk-17-jre-headless; .ci/run
# installs it). The checkout's package is on PYTHONPATH for every process the
# engines start.

DISTRIBUTED_VENV  := target/distributed-venv
DISTRIBUTED_PY    := $(DISTRIBUTED_VENV)/bin/python
DISTRIBUTED_STAMP := $(DISTRIBUTED_VENV)/.done
DISTRIBUTED_REQS  := tests/distributed/requirements.txt
DISTRIBUTED_ENV   := PYTHONPATH=$(abspath bindings/python) PYSPARK_PYTHON=$(abspath $(DISTRIBUTED_PY)) \
                     PYSPARK_DRIVER_PYTHON=$(abspath $(DISTRIBUTED_PY))
JAVA ?= java

.PHONY: test-distributed bench-distributed example-distributed java-check

CI_TARGETS += test-distributed
BENCH_TARGETS += bench-distributed

$(DISTRIBUTED_STAMP): $(DISTRIBUTED_REQS)
	@test -x $(DISTRIBUTED_PY) || $(PYTHON) -m venv $(DISTRIBUTED_VENV)
	$(DISTRIBUTED_PY) -m pip install --quiet --disable-pip-version-check -r $(DISTRIBUTED_REQS)
	@touch $@

java-check:
	@command -v $(JAVA) >/dev/null || { echo "Spark needs Java 17: apt-get install openjdk-17-jre-headless" >&2; exit 1; }
	@$(JAVA) -version 2>&1 | head -n1

test-distributed: python $(DISTRIBUTED_STAMP) java-check
	$(DISTRIBUTED_ENV) $(DISTRIBUTED_PY) -m pytest -q -p no:cacheprovider tests/distributed

bench-distributed: python $(DISTRIBUTED_STAMP) java-check
	$(DISTRIBUTED_ENV) $(DISTRIBUTED_PY) bench/dask_spark.py

example-distributed: python $(DISTRIBUTED_STAMP) java-check
	$(DISTRIBUTED_ENV) $(DISTRIBUTED_PY) examples/python/distributed_sum.py
