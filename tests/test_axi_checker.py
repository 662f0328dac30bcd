"""Guard for the AXI protocol checker (sim/designs/mem/tb/axi_checker.sv) that watches every SoC memory port.

Legal traffic (waits, data before address, interleaved read IDs, 256-beat and
WRAP bursts) must count no violation; each deliberate violation must count at
least one, on both simulators.
"""

import json

import pytest

from sim.core import runner
from sim.designs.mem.mem_model import CHECKER_SOURCE
from sim.designs.mem.tb_axi_checker import SCENARIOS

PARAMETERS = (("ADDR_W", 32), ("DATA_W", 64), ("ID_W", 2), ("MAX_READS", 4), ("MAX_WRITES", 4),
              ("NAME", '"guard"'))


@pytest.fixture(scope="module", params=["verilator", "icarus"])
def verdicts(request, tmp_path_factory):
    simulator = request.param
    spec = runner.SimBuild(toplevel="axi_checker", sources=(str(CHECKER_SOURCE),),
                           simulator=simulator, parameters=PARAMETERS, warnings_fatal=True)
    run_dir = tmp_path_factory.mktemp(f"axi-checker-{simulator}")
    results = run_dir / "verdicts.json"
    runner.run_test(spec, "sim.designs.mem.tb_axi_checker", run_dir=run_dir,
                    extra_env={"CHECKER_RESULTS": str(results)}, wall_timeout_s=300)
    return json.loads(results.read_text())


def test_legal_traffic_passes(verdicts):
    assert verdicts["legal"] == 0


@pytest.mark.parametrize("scenario", [name for name in SCENARIOS if name != "legal"])
def test_each_violation_is_caught(verdicts, scenario):
    assert verdicts[scenario] >= 1, scenario
