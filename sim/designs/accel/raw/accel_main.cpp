// Raw Verilator harness for accel_tb.sv: the same bench cocotb drives, with
// the clock and the handshake in C++.  Used by `make bench` to measure how
// much of Verilator's speed survives the cocotb path.
//
//   accel_raw n_w n_x n_b n_y m k n use_bias relu [+W_FILE=...] ...
// prints one JSON line: {"tb_cycles": ..., "seconds": ..., "cycles_total": ...}
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include "Vaccel_tb.h"
#include "verilated.h"

int main(int argc, char** argv) {
    if (argc < 10) {
        std::fprintf(stderr, "usage: %s n_w n_x n_b n_y m k n use_bias relu [plusargs]\n", argv[0]);
        return 2;
    }
    auto* ctx = new VerilatedContext;
    ctx->commandArgs(argc, argv);
    auto* top = new Vaccel_tb{ctx};
    top->n_w = std::strtoul(argv[1], nullptr, 10);
    top->n_x = std::strtoul(argv[2], nullptr, 10);
    top->n_b = std::strtoul(argv[3], nullptr, 10);
    top->n_y = std::strtoul(argv[4], nullptr, 10);
    top->dim_m = std::strtoul(argv[5], nullptr, 10);
    top->dim_k = std::strtoul(argv[6], nullptr, 10);
    top->dim_n = std::strtoul(argv[7], nullptr, 10);
    top->use_bias = std::atoi(argv[8]);
    top->relu = std::atoi(argv[9]);

    auto tick = [&]() {
        top->clk = 0; top->eval(); ctx->timeInc(5);
        top->clk = 1; top->eval(); ctx->timeInc(5);
    };
    top->rst = 1; top->go = 0;
    for (int i = 0; i < 3; i++) tick();
    top->rst = 0;
    tick();
    auto t0 = std::chrono::steady_clock::now();
    top->go = 1; tick(); top->go = 0;
    unsigned long long cycles = 1;
    const unsigned long long limit = 4000000000ULL;
    while (!top->tb_done && cycles < limit) { tick(); cycles++; }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!top->tb_done) { std::fprintf(stderr, "watchdog: tb_done never rose\n"); return 1; }
    std::printf("{\"tb_cycles\": %llu, \"seconds\": %.6f, \"cycles_total\": %u}\n",
                cycles, seconds, (unsigned)top->cycles_total);
    top->final();
    delete top;
    delete ctx;
    return 0;
}
