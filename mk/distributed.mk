# Exact sums on Dask and Spark (mylib.dask, mylib.spark; issue 16).
#
#   make test-distributed    tests/distributed: mylib.dask.fast_sum on the sync, threaded,
#                            process-pool and LocalCluster schedulers (a worker killed
#                            mid-sum included), mylib.spark.fast_sum on Spark local[2]
#                            for every repartition(k), the packaging
#   make bench-distributed   the two cost ratios (also run by make bench):
#                            bench/results/distributed.{txt,json}
#   make example-distributed examples/python/distributed_sum.py
#   make spark-jar           bindings/python/mylib/jars/mylib-spark.jar: mylib.spark's JVM
#                            aggregate (bindings/spark, Java), which the three targets above
#                            build first; make dist ships it in the wheels when a JDK is here
#
# The engines live in a venv of their own (target/distributed-venv, pinned by
# tests/distributed/requirements.txt), never in the main suite's venv or the
# wheel tests. Spark needs Java 17, and the jar a JDK 17 (Debian:
# openjdk-17-jdk-headless; .ci/run installs it). The checkout's package is on
# PYTHONPATH for every process the engines start.

DISTRIBUTED_VENV  := target/distributed-venv
DISTRIBUTED_PY    := $(DISTRIBUTED_VENV)/bin/python
DISTRIBUTED_STAMP := $(DISTRIBUTED_VENV)/.done
DISTRIBUTED_REQS  := tests/distributed/requirements.txt
DISTRIBUTED_ENV   := PYTHONPATH=$(abspath bindings/python) PYSPARK_PYTHON=$(abspath $(DISTRIBUTED_PY)) \
                     PYSPARK_DRIVER_PYTHON=$(abspath $(DISTRIBUTED_PY))
JAVA ?= java
JAVAC ?= javac
JAR ?= jar

.PHONY: test-distributed bench-distributed example-distributed java-check spark-jar

CI_TARGETS += test-distributed
BENCH_TARGETS += bench-distributed

$(DISTRIBUTED_STAMP): $(DISTRIBUTED_REQS)
	@test -x $(DISTRIBUTED_PY) || $(PYTHON) -m venv $(DISTRIBUTED_VENV)
	$(DISTRIBUTED_PY) -m pip install --quiet --disable-pip-version-check -r $(DISTRIBUTED_REQS)
	@touch $@

java-check:
	@command -v $(JAVA) >/dev/null || { echo "Spark needs Java 17: apt-get install openjdk-17-jdk-headless" >&2; exit 1; }
	@$(JAVA) -version 2>&1 | head -n1

# ---------------------------------------------------------------- the JVM aggregate
# mylib.spark's exact sum inside the JVM (bindings/spark/src, Java 17): javac
# against the pinned pyspark's own jars (in the engines' venv: the Spark the
# tests run), into the package directory, where mylib.spark finds it (and
# setup.py ships it). Reproducible: the same sources give the same bytes
# (entries in a fixed order, with a fixed date).
SPARK_JAR      := bindings/python/mylib/jars/mylib-spark.jar
SPARK_JAVA     := $(sort $(wildcard bindings/spark/src/mylib/spark/*.java))
SPARK_JAR_WORK := target/spark-jar
PYSPARK_JARS    = $$($(DISTRIBUTED_PY) -c 'import os, pyspark; print(os.path.join(os.path.dirname(pyspark.__file__), "jars"))')

spark-jar: $(SPARK_JAR)

$(SPARK_JAR): $(SPARK_JAVA) $(DISTRIBUTED_STAMP)
	@command -v $(JAVAC) >/dev/null || { echo "building $@ needs a JDK 17 (javac): apt-get install openjdk-17-jdk-headless" >&2; exit 1; }
	rm -rf $(SPARK_JAR_WORK) && mkdir -p $(SPARK_JAR_WORK)/classes $(@D)
	$(JAVAC) --release 17 -encoding UTF-8 -Xlint:all,-path -Werror -cp "$(PYSPARK_JARS)/*" \
	  -d $(SPARK_JAR_WORK)/classes $(SPARK_JAVA)
	printf 'Implementation-Title: mylib-spark\nImplementation-Version: $(VERSION)\n' > $(SPARK_JAR_WORK)/manifest.txt
	cd $(SPARK_JAR_WORK)/classes && $(JAR) --create --file $(abspath $@).tmp --manifest ../manifest.txt \
	  --date 1980-01-01T00:00:02Z $$(find . -name '*.class' | LC_ALL=C sort)
	mv $@.tmp $@

# make dist ships the jar in the sdist and the wheels when a JDK is here
# (DIST_SPARK_JAR=yes|no overrides); without it, mylib.spark sums in Python
# workers (and says so).
DIST_SPARK_JAR ?= $(if $(shell command -v $(JAVAC) 2>/dev/null),yes,no)
ifeq ($(DIST_SPARK_JAR),yes)
$(DIST_BUILT): $(SPARK_JAR)
endif

test-distributed: python $(SPARK_JAR) $(DISTRIBUTED_STAMP) java-check
	$(DISTRIBUTED_ENV) $(DISTRIBUTED_PY) -m pytest -q -p no:cacheprovider tests/distributed

bench-distributed: python $(SPARK_JAR) $(DISTRIBUTED_STAMP) java-check
	$(DISTRIBUTED_ENV) $(DISTRIBUTED_PY) bench/dask_spark.py

example-distributed: python $(SPARK_JAR) $(DISTRIBUTED_STAMP) java-check
	$(DISTRIBUTED_ENV) $(DISTRIBUTED_PY) examples/python/distributed_sum.py
