`timescale 1ns/1ps
// axi_mem_model -- simulation-only AXI4 slave that stands for DRAM.
//
// WHAT IT IS
//   A behavioural memory of MEM_WORDS words of DATA_W bits behind a complete
//   AXI4 slave port (s_axi_*), with a fixed access latency, a bandwidth limit,
//   a bounded number of outstanding bursts, a per-bank open-row model that
//   counts DRAM row activations, and activity counters for the power model.
//   Not synthesisable (memory load/dump use $readmemh/$writememh); plain
//   Verilog-2005 plus $clog2, so it builds on Verilator 5 and Icarus 11.
//
// DEFAULTS FOLLOW THE PAPER (Partition Pruning, Shahhosseini et al., table: 200 MHz
// accelerators, DDR3-1600-8x8 memory)
//   * Bandwidth: DDR3-1600 on a 64-bit channel moves 1600 MT/s x 8 B =
//     12.8 GB/s at peak.  At the 200 MHz accelerator clock that is
//     12.8e9 / 200e6 = 64 B per cycle = one 512-bit beat per cycle, hence
//     DATA_W = 512 and BEAT_INTERVAL = 1.  Reads and writes share that one
//     data bus (SHARED_DATA_BUS = 1), as they do on a DDR channel, so the port
//     never moves more than 64 B per cycle in total.  BEAT_INTERVAL = k models
//     1/k of that bandwidth (e.g. 2 = 6.4 GB/s).
//   * READ_LATENCY = 20 cycles at 200 MHz = 100 ns.  ASSUMPTION: DDR3-1600
//     11-11-11 has tRCD = CL = tRP = 13.75 ns, so a row miss costs
//     tRP + tRCD + CL = 41 ns in the DRAM itself; the rest stands for the
//     memory controller, PHY and queueing (a loaded-memory latency of ~100 ns
//     is typical of real systems).  It is one fixed number: row hits and
//     misses take the same time in this model.
//   * WRITE_LATENCY = 10 cycles = 50 ns from the last W beat to B, standing
//     for a controller that acknowledges a write once it sits in its write
//     buffer (ASSUMPTION).
//   * ROW_BYTES = 8192, BANKS = 8: DDR3-1600-8x8 is eight x8 devices per rank,
//     each with a 1 KiB page and 8 banks, so one activation opens 8 KiB across
//     the rank (gem5's DDR3_1600_8x8, the memory of the paper's gem5-Aladdin
//     runs).  A DDR3 x16 device alone has a 2 KiB page (ROW_BYTES = 2048).
//
// TIMING MODEL (all in cycles of clk; "cycle c" is the clock period that
// ends with rising edge c, a handshake "in cycle c" is sampled at that edge)
//   * Read latency: an AR handshake in cycle c gives an R beat whose rvalid is
//     first high in cycle c + READ_LATENCY; with rready high the first R
//     handshake is READ_LATENCY rising edges after the AR handshake edge.
//     READ_LATENCY >= 2.  Each burst's latency counts from its own AR
//     handshake; bursts are served one after the other in AR order (a
//     single, in-order R stream), so a burst queued behind another starts at
//     the later of its own AR cycle + READ_LATENCY and the slot after the
//     previous burst's last beat.  Write beats competing for a shared data
//     bus, or rready low, delay R beats beyond these figures.
//   * Write latency: the last W beat of a burst handshaked in cycle c gives
//     bvalid from cycle c + WRITE_LATENCY (>= 1).  B responses are in AW order.
//   * Bandwidth: the memory moves at most one beat every BEAT_INTERVAL cycles.
//     A read beat is fetched from the array into a 2-entry output buffer and
//     a write beat is stored at its W handshake; with SHARED_DATA_BUS = 1
//     reads and writes take these slots from one budget (round-robin when
//     both want the same slot), with SHARED_DATA_BUS = 0 each direction has
//     its own budget.  On the AXI side R beats are also at least
//     BEAT_INTERVAL cycles apart.  With BEAT_INTERVAL = 1 and no backpressure
//     an N-beat read takes READ_LATENCY + N - 1 edges from AR to the last R
//     handshake; in general READ_LATENCY + (N - 1) * BEAT_INTERVAL.
//   * Outstanding: at most MAX_OUTSTANDING read bursts are accepted and not
//     yet fully returned (arready is low otherwise), and at most
//     MAX_OUTSTANDING_WRITES write bursts between AW and B (awready low).
//   * W beats are accepted only for a burst whose AW has been accepted (wready
//     is low before that, which AXI allows).  The burst ends after awlen + 1
//     beats; a wlast that disagrees with that count makes the burst SLVERR.
//   * Backpressure: rvalid/bvalid are registered and held until the
//     handshake, and never depend on rready/bready; arready, awready and wready
//     depend only on internal state.  Row activations do not add latency.
//
// SUPPORTED TRANSFERS AND RESPONSES
//   INCR bursts of 1..256 beats of full width (size == log2(DATA_W/8)).
//   The low address bits below the beat size are ignored (an unaligned start
//   address addresses the beat it falls in; wstrb selects the bytes).  Bursts
//   are not checked against the AXI 4 KiB rule (the memory is linear).
//   Response per burst, first rule that applies:
//     DECERR  any beat of the burst lies at or beyond MEM_WORDS words
//             (nothing is written, read data is 0);
//     SLVERR  FIXED or WRAP burst, or a size other than full width
//             (nothing is written, read data is 0), or a wlast mismatch;
//     OKAY    otherwise.
//   Every beat of a read burst carries the burst's response; the handshake
//   always completes with awlen/arlen + 1 beats.  IDs are echoed (bid/rid).
//   AXI sideband signals (lock, cache, prot, qos, region, user) are not
//   ports: leave them unconnected; the model would ignore them anyway.
//
// ROW (PAGE) MODEL -- for DRAM activate energy
//   Byte address -> row : bank : column, column = addr % ROW_BYTES,
//   bank = (addr / ROW_BYTES) % BANKS, row = addr / (ROW_BYTES * BANKS).
//   Each bank keeps one open row.  Every beat that really touches the array
//   (OKAY bursts only) counts one activation when its bank has no open row or
//   another row open, which then becomes the open row.  Reset closes all rows.
//   ROW_BYTES and BANKS are powers of two, ROW_BYTES >= DATA_W / 8.
//
// BULK LOAD / DUMP (never word by word through the simulator interface)
//   On a rising edge of `load` (sampled at clk) the model does
//   $readmemh(<+MEM_INIT file>, mem); on a rising edge of `dump` it does
//   $writememh(<+MEM_DUMP file>, mem, 0, dump_words - 1).  The plusarg names
//   are the parameters INIT_PLUSARG / DUMP_PLUSARG, so several instances read
//   different files (e.g. INIT_PLUSARG = "MEM1_INIT" -> +MEM1_INIT=path).
//   Paths up to 512 characters.  The memory is zero at time 0; reset does not
//   clear it, and a file shorter than the memory leaves the words after it
//   unchanged (Icarus prints a harmless "Not enough words" warning).  Load
//   and dump while no transfer is in flight.  Words are one hex number of
//   DATA_W bits per line, byte lane 0 in the low bits (sim/core/hexfile.py
//   write_words / read_words).
//
// FAULT INJECTION (tests; off unless a plusarg asks for it)
//   +<INIT_PLUSARG>_FAULT_READ=n answers the n-th read beat fetched since reset
//   (1-based) with zero data and the response +<INIT_PLUSARG>_FAULT_RESP (2 =
//   SLVERR, the default; 3 = DECERR); +<INIT_PLUSARG>_FAULT_WRITE=n answers the
//   n-th write burst's B response so (its data is still written).
//
// COUNTERS (64 bit, cleared by rst)
//   stat_read_beats / stat_write_beats   R / W data handshakes
//   stat_read_bursts / stat_write_bursts AR / AW handshakes
//   stat_row_activations                 see ROW MODEL
//   stat_busy_cycles                     cycles with an R or a W handshake
module axi_mem_model #(
    parameter integer ADDR_W = 32,
    parameter integer DATA_W = 512,
    parameter integer ID_W = 8,
    parameter integer MEM_WORDS = 1 << 16,
    parameter integer READ_LATENCY = 20,
    parameter integer WRITE_LATENCY = 10,
    parameter integer MAX_OUTSTANDING = 8,
    parameter integer MAX_OUTSTANDING_WRITES = MAX_OUTSTANDING,
    parameter integer BEAT_INTERVAL = 1,
    parameter integer SHARED_DATA_BUS = 1,
    parameter integer ROW_BYTES = 8192,
    parameter integer BANKS = 8,
    parameter INIT_PLUSARG = "MEM_INIT",
    parameter DUMP_PLUSARG = "MEM_DUMP"
) (
    input  wire                  clk,
    input  wire                  rst,

    // write address
    input  wire [ID_W-1:0]       s_axi_awid,
    input  wire [ADDR_W-1:0]     s_axi_awaddr,
    input  wire [7:0]            s_axi_awlen,
    input  wire [2:0]            s_axi_awsize,
    input  wire [1:0]            s_axi_awburst,
    input  wire                  s_axi_awvalid,
    output wire                  s_axi_awready,
    // write data
    input  wire [DATA_W-1:0]     s_axi_wdata,
    input  wire [DATA_W/8-1:0]   s_axi_wstrb,
    input  wire                  s_axi_wlast,
    input  wire                  s_axi_wvalid,
    output wire                  s_axi_wready,
    // write response
    output wire [ID_W-1:0]       s_axi_bid,
    output wire [1:0]            s_axi_bresp,
    output wire                  s_axi_bvalid,
    input  wire                  s_axi_bready,
    // read address
    input  wire [ID_W-1:0]       s_axi_arid,
    input  wire [ADDR_W-1:0]     s_axi_araddr,
    input  wire [7:0]            s_axi_arlen,
    input  wire [2:0]            s_axi_arsize,
    input  wire [1:0]            s_axi_arburst,
    input  wire                  s_axi_arvalid,
    output wire                  s_axi_arready,
    // read data
    output wire [ID_W-1:0]       s_axi_rid,
    output wire [DATA_W-1:0]     s_axi_rdata,
    output wire [1:0]            s_axi_rresp,
    output wire                  s_axi_rlast,
    output wire                  s_axi_rvalid,
    input  wire                  s_axi_rready,

    // bulk image load / dump (rising edges, sampled at clk)
    input  wire                  load,
    input  wire                  dump,
    input  wire [31:0]           dump_words,

    // activity counters
    output reg  [63:0]           stat_read_beats,
    output reg  [63:0]           stat_write_beats,
    output reg  [63:0]           stat_read_bursts,
    output reg  [63:0]           stat_write_bursts,
    output reg  [63:0]           stat_row_activations,
    output reg  [63:0]           stat_busy_cycles
);
    localparam integer BYTES = DATA_W / 8;
    localparam integer LOG2B = $clog2(BYTES);
    localparam integer WORD_W = 64;                     // word indices (never wrap)
    localparam integer MEM_AW = MEM_WORDS > 1 ? $clog2(MEM_WORDS) : 1;
    localparam integer RQ = MAX_OUTSTANDING;
    localparam integer WQ = MAX_OUTSTANDING_WRITES;
    localparam integer RQ_PW = RQ > 1 ? $clog2(RQ) : 1;
    localparam integer WQ_PW = WQ > 1 ? $clog2(WQ) : 1;
    localparam integer ROW_SHIFT = $clog2(ROW_BYTES) - LOG2B;  // word index -> row:bank
    localparam integer BANK_BITS = $clog2(BANKS);
    localparam integer BANK_IW = BANKS > 1 ? BANK_BITS : 1;
    localparam integer GAP_W = 16;
    localparam [1:0] OKAY = 2'b00, SLVERR = 2'b10, DECERR = 2'b11;
    localparam [1:0] INCR = 2'b01;
    // sized copies of the integer parameters (keeps Verilator -Wall quiet)
    localparam integer READ_DUE_I = READ_LATENCY - 1;
    localparam integer GAP_I = BEAT_INTERVAL - 1;
    localparam integer RQ_LAST_I = RQ - 1;
    localparam integer WQ_LAST_I = WQ - 1;
    localparam [2:0] FULL_SIZE = LOG2B[2:0];
    localparam [31:0] MEM_WORDS_32 = MEM_WORDS;
    localparam [63:0] MEM_WORDS_64 = {32'd0, MEM_WORDS_32};
    localparam [63:0] READ_DUE = {32'd0, READ_DUE_I};
    localparam [63:0] WRITE_DUE = {32'd0, WRITE_LATENCY};
    localparam [GAP_W-1:0] GAP = GAP_I[GAP_W-1:0];
    localparam [RQ_PW:0] RQ_N = RQ[RQ_PW:0];
    localparam [WQ_PW:0] WQ_N = WQ[WQ_PW:0];
    localparam [RQ_PW-1:0] RQ_LAST = RQ_LAST_I[RQ_PW-1:0];
    localparam [WQ_PW-1:0] WQ_LAST = WQ_LAST_I[WQ_PW-1:0];

    // ------------------------------------------------------------------
    // parameter checks (a bad configuration stops the simulation at time 0)
    // ------------------------------------------------------------------
    initial begin
        if (DATA_W < 32 || DATA_W > 512 || (DATA_W & (DATA_W - 1)) != 0)
            fail_param("DATA_W must be a power of two in 32..512");
        if (READ_LATENCY < 2) fail_param("READ_LATENCY must be >= 2");
        if (WRITE_LATENCY < 1) fail_param("WRITE_LATENCY must be >= 1");
        if (MAX_OUTSTANDING < 1 || MAX_OUTSTANDING_WRITES < 1)
            fail_param("MAX_OUTSTANDING and MAX_OUTSTANDING_WRITES must be >= 1");
        if (BEAT_INTERVAL < 1 || BEAT_INTERVAL >= (1 << GAP_W))
            fail_param("BEAT_INTERVAL must be in 1..65535");
        if (MEM_WORDS < 1) fail_param("MEM_WORDS must be >= 1");
        if (ADDR_W < LOG2B + MEM_AW || ADDR_W > 64)
            fail_param("ADDR_W must cover MEM_WORDS words and be at most 64");
        if (ID_W < 1) fail_param("ID_W must be >= 1");
        if (ROW_BYTES < BYTES || (ROW_BYTES & (ROW_BYTES - 1)) != 0)
            fail_param("ROW_BYTES must be a power of two >= DATA_W/8");
        if (BANKS < 1 || (BANKS & (BANKS - 1)) != 0) fail_param("BANKS must be a power of two");
    end

    task fail_param(input [8*80-1:0] msg);
        begin
            $display("axi_mem_model %m: bad parameter: %0s", msg);
            $finish;
        end
    endtask

    // ------------------------------------------------------------------
    // storage, files
    // ------------------------------------------------------------------
    reg [DATA_W-1:0] mem [0:MEM_WORDS-1];
    reg [8*512-1:0] init_file, dump_file;
    reg have_init_file, have_dump_file;
    integer k;

    initial begin
        for (k = 0; k < MEM_WORDS; k = k + 1) mem[k] = {DATA_W{1'b0}};
        have_init_file = $value$plusargs({INIT_PLUSARG, "=%s"}, init_file);
        have_dump_file = $value$plusargs({DUMP_PLUSARG, "=%s"}, dump_file);
    end

    // fault injection (see FAULT INJECTION above)
    reg [31:0] fault_read, fault_write, fault_arg;
    reg [1:0]  fault_resp;
    reg [31:0] fetched_beats, closed_bursts;
    initial begin
        fault_read = 32'd0;
        fault_write = 32'd0;
        fault_resp = 2'b10;
        if ($value$plusargs({INIT_PLUSARG, "_FAULT_READ=%d"}, fault_arg)) fault_read = fault_arg;
        if ($value$plusargs({INIT_PLUSARG, "_FAULT_WRITE=%d"}, fault_arg)) fault_write = fault_arg;
        if ($value$plusargs({INIT_PLUSARG, "_FAULT_RESP=%d"}, fault_arg)) fault_resp = fault_arg[1:0];
    end

    reg [63:0] now;                  // cycle number: rises by one at every edge
    reg load_q, dump_q;

    // ------------------------------------------------------------------
    // read side: AR queue (head entry is served in place), 2-entry R buffer
    // ------------------------------------------------------------------
    reg [ID_W-1:0]   rq_id   [0:RQ-1];
    reg [WORD_W-1:0] rq_word [0:RQ-1];
    reg [7:0]        rq_left [0:RQ-1];
    reg [1:0]        rq_resp [0:RQ-1];
    reg [63:0]       rq_due  [0:RQ-1];   // first cycle the head may fetch
    reg [RQ_PW-1:0]  rq_rp, rq_wp;
    reg [RQ_PW:0]    rq_count;
    reg [RQ_PW:0]    rd_outstanding;     // accepted, last beat not yet returned

    reg [DATA_W-1:0] ro_data [0:1];
    reg [ID_W-1:0]   ro_id   [0:1];
    reg [1:0]        ro_resp [0:1];
    reg              ro_last [0:1];
    reg              ro_rp, ro_wp;
    reg [1:0]        ro_count;
    reg [GAP_W-1:0]  ro_gap;             // AXI-side spacing of R beats

    // ------------------------------------------------------------------
    // write side: AW queue (head entry is served in place), B queue
    // ------------------------------------------------------------------
    reg [ID_W-1:0]   wq_id   [0:WQ-1];
    reg [WORD_W-1:0] wq_word [0:WQ-1];
    reg [7:0]        wq_left [0:WQ-1];
    reg [1:0]        wq_resp [0:WQ-1];
    reg [WQ_PW-1:0]  wq_rp, wq_wp;
    reg [WQ_PW:0]    wq_count;
    reg              w_lasterr;          // wlast mismatch seen in the current burst

    reg [ID_W-1:0]   bq_id   [0:WQ-1];
    reg [1:0]        bq_resp [0:WQ-1];
    reg [63:0]       bq_due  [0:WQ-1];
    reg [WQ_PW-1:0]  bq_rp, bq_wp;
    reg [WQ_PW:0]    bq_count;
    reg [WQ_PW:0]    wr_outstanding;     // AW accepted, B not yet taken

    // bandwidth budgets and round-robin priority
    reg [GAP_W-1:0]  r_gap, w_gap;       // cycles until the next slot (shared: r_gap)
    reg              prio_w;

    // open-row state
    reg [WORD_W-1:0] open_row [0:BANKS-1];
    reg [BANKS-1:0]  open_valid;

    // ------------------------------------------------------------------
    // address decode of new bursts
    // ------------------------------------------------------------------
    wire [WORD_W-1:0] aw_word = {{(WORD_W - ADDR_W + LOG2B){1'b0}}, s_axi_awaddr[ADDR_W-1:LOG2B]};
    wire [WORD_W-1:0] ar_word = {{(WORD_W - ADDR_W + LOG2B){1'b0}}, s_axi_araddr[ADDR_W-1:LOG2B]};
    wire [WORD_W-1:0] aw_end = aw_word + {56'd0, s_axi_awlen};   // last word of the burst
    wire [WORD_W-1:0] ar_end = ar_word + {56'd0, s_axi_arlen};
    wire [1:0] aw_resp = (aw_end >= MEM_WORDS_64) ? DECERR :
                         (s_axi_awburst != INCR || s_axi_awsize != FULL_SIZE) ? SLVERR : OKAY;
    wire [1:0] ar_resp = (ar_end >= MEM_WORDS_64) ? DECERR :
                         (s_axi_arburst != INCR || s_axi_arsize != FULL_SIZE) ? SLVERR : OKAY;
    // the address bits below the beat size are ignored (see header)
    /* verilator lint_off UNUSEDSIGNAL */
    wire unused_low_bits = &{1'b0, s_axi_awaddr[LOG2B-1:0], s_axi_araddr[LOG2B-1:0]};
    /* verilator lint_on UNUSEDSIGNAL */

    // ------------------------------------------------------------------
    // channel control (outputs depend on registers only; wready not on wvalid)
    // ------------------------------------------------------------------
    assign s_axi_arready = rd_outstanding < RQ_N;
    assign s_axi_awready = wr_outstanding < WQ_N;

    wire ar_fire = s_axi_arvalid && s_axi_arready;
    wire aw_fire = s_axi_awvalid && s_axi_awready;

    wire [WORD_W-1:0] r_word = rq_word[rq_rp];
    wire [1:0]        r_resp = rq_resp[rq_rp];
    wire              r_want = rq_count != 0 && now >= rq_due[rq_rp] && ro_count < 2;

    wire [WORD_W-1:0] w_word = wq_word[wq_rp];
    wire [1:0]        w_resp = wq_resp[wq_rp];
    wire              w_head = wq_count != 0;

    wire r_slot = r_gap == 0;
    wire w_slot = SHARED_DATA_BUS != 0 ? r_gap == 0 : w_gap == 0;
    wire r_contend = SHARED_DATA_BUS != 0 && r_want;
    wire w_contend = SHARED_DATA_BUS != 0 && w_head && s_axi_wvalid;

    wire r_fetch = r_want && r_slot && !(w_contend && prio_w);
    assign s_axi_wready = w_head && w_slot && !(r_contend && !prio_w);
    wire w_fire = s_axi_wvalid && s_axi_wready;
    wire w_last = wq_left[wq_rp] == 8'd0;

    assign s_axi_rvalid = ro_count != 0 && ro_gap == 0;
    assign s_axi_rdata  = ro_data[ro_rp];
    assign s_axi_rid    = ro_id[ro_rp];
    assign s_axi_rresp  = ro_resp[ro_rp];
    assign s_axi_rlast  = ro_last[ro_rp];
    wire r_fire = s_axi_rvalid && s_axi_rready;

    assign s_axi_bvalid = bq_count != 0 && now >= bq_due[bq_rp];
    assign s_axi_bid    = bq_id[bq_rp];
    assign s_axi_bresp  = bq_resp[bq_rp];
    wire b_fire = s_axi_bvalid && s_axi_bready;

    // ------------------------------------------------------------------
    // array access: read beat, strobe merge, row activations
    // ------------------------------------------------------------------
    wire [DATA_W-1:0] r_mem = mem[r_word[MEM_AW-1:0]];
    wire [DATA_W-1:0] w_mem = mem[w_word[MEM_AW-1:0]];
    wire [DATA_W-1:0] w_mask;
    genvar g;
    generate
        for (g = 0; g < BYTES; g = g + 1) begin : strobe
            assign w_mask[8*g +: 8] = {8{s_axi_wstrb[g]}};
        end
    endgenerate
    wire [DATA_W-1:0] w_merged = (w_mem & ~w_mask) | (s_axi_wdata & w_mask);

    wire r_fault = fault_read != 32'd0 && fetched_beats + 32'd1 == fault_read;
    wire w_fault = fault_write != 32'd0 && closed_bursts + 32'd1 == fault_write;
    wire r_access = r_fetch && r_resp == OKAY;
    wire w_access = w_fire && w_resp == OKAY;
    wire [WORD_W-1:0] r_bankrow = r_word >> ROW_SHIFT;
    wire [WORD_W-1:0] w_bankrow = w_word >> ROW_SHIFT;
    wire [BANK_IW-1:0] r_bank = BANKS > 1 ? r_bankrow[BANK_IW-1:0] : {BANK_IW{1'b0}};
    wire [BANK_IW-1:0] w_bank = BANKS > 1 ? w_bankrow[BANK_IW-1:0] : {BANK_IW{1'b0}};
    wire [WORD_W-1:0] r_row = r_bankrow >> BANK_BITS;
    wire [WORD_W-1:0] w_row = w_bankrow >> BANK_BITS;
    wire r_act = r_access && (!open_valid[r_bank] || open_row[r_bank] != r_row);
    // a read and a write in the same cycle (SHARED_DATA_BUS = 0): read first
    wire w_act = w_access && ((r_access && r_bank == w_bank) ? (w_row != r_row)
                             : (!open_valid[w_bank] || open_row[w_bank] != w_row));

    // ------------------------------------------------------------------
    // sequential part
    // ------------------------------------------------------------------
    always @(posedge clk) begin
        load_q <= load;
        dump_q <= dump;
        if (load && !load_q) begin
            if (have_init_file) $readmemh(init_file, mem);
            else $display("axi_mem_model %m: load requested but no +%0s=<file> given", INIT_PLUSARG);
        end
        if (dump && !dump_q) begin
            if (!have_dump_file)
                $display("axi_mem_model %m: dump requested but no +%0s=<file> given", DUMP_PLUSARG);
            else if (dump_words != 0)
                $writememh(dump_file, mem, 0, (dump_words > MEM_WORDS_32 ? MEM_WORDS_32 : dump_words) - 32'd1);
        end

        if (rst) begin
            now <= 64'd0;
            rq_rp <= 0; rq_wp <= 0; rq_count <= 0; rd_outstanding <= 0;
            ro_rp <= 1'b0; ro_wp <= 1'b0; ro_count <= 2'd0; ro_gap <= 0;
            wq_rp <= 0; wq_wp <= 0; wq_count <= 0; w_lasterr <= 1'b0;
            bq_rp <= 0; bq_wp <= 0; bq_count <= 0; wr_outstanding <= 0;
            r_gap <= 0; w_gap <= 0; prio_w <= 1'b0;
            open_valid <= {BANKS{1'b0}};
            stat_read_beats <= 64'd0;
            stat_write_beats <= 64'd0;
            stat_read_bursts <= 64'd0;
            stat_write_bursts <= 64'd0;
            stat_row_activations <= 64'd0;
            stat_busy_cycles <= 64'd0;
            fetched_beats <= 32'd0;
            closed_bursts <= 32'd0;
        end else begin
            now <= now + 64'd1;

            // ---- AR: queue the burst ----
            if (ar_fire) begin
                rq_id[rq_wp] <= s_axi_arid;
                rq_word[rq_wp] <= ar_word;
                rq_left[rq_wp] <= s_axi_arlen;
                rq_resp[rq_wp] <= ar_resp;
                rq_due[rq_wp] <= now + READ_DUE;
                rq_wp <= rq_wp == RQ_LAST ? {RQ_PW{1'b0}} : rq_wp + 1'b1;
                stat_read_bursts <= stat_read_bursts + 64'd1;
            end
            rq_count <= rq_count + {{RQ_PW{1'b0}}, ar_fire}
                        - {{RQ_PW{1'b0}}, r_fetch && rq_left[rq_rp] == 8'd0};
            rd_outstanding <= rd_outstanding + {{RQ_PW{1'b0}}, ar_fire}
                              - {{RQ_PW{1'b0}}, r_fire && s_axi_rlast};

            // ---- fetch one read beat into the R buffer ----
            if (r_fetch) begin
                fetched_beats <= fetched_beats + 32'd1;
                ro_data[ro_wp] <= (r_resp == OKAY && !r_fault) ? r_mem : {DATA_W{1'b0}};
                ro_id[ro_wp] <= rq_id[rq_rp];
                ro_resp[ro_wp] <= r_fault ? fault_resp : r_resp;
                ro_last[ro_wp] <= rq_left[rq_rp] == 8'd0;
                ro_wp <= ~ro_wp;
                if (rq_left[rq_rp] == 8'd0) begin
                    rq_rp <= rq_rp == RQ_LAST ? {RQ_PW{1'b0}} : rq_rp + 1'b1;
                end else begin
                    rq_word[rq_rp] <= r_word + 1'b1;
                    rq_left[rq_rp] <= rq_left[rq_rp] - 8'd1;
                end
            end
            ro_count <= ro_count + {1'b0, r_fetch} - {1'b0, r_fire};

            // ---- R handshake ----
            if (r_fire) begin
                ro_rp <= ~ro_rp;
                ro_gap <= GAP;
                stat_read_beats <= stat_read_beats + 64'd1;
            end else if (ro_gap != 0) begin
                ro_gap <= ro_gap - 1'b1;
            end

            // ---- AW: queue the burst ----
            if (aw_fire) begin
                wq_id[wq_wp] <= s_axi_awid;
                wq_word[wq_wp] <= aw_word;
                wq_left[wq_wp] <= s_axi_awlen;
                wq_resp[wq_wp] <= aw_resp;
                wq_wp <= wq_wp == WQ_LAST ? {WQ_PW{1'b0}} : wq_wp + 1'b1;
                stat_write_bursts <= stat_write_bursts + 64'd1;
            end
            wq_count <= wq_count + {{WQ_PW{1'b0}}, aw_fire} - {{WQ_PW{1'b0}}, w_fire && w_last};
            wr_outstanding <= wr_outstanding + {{WQ_PW{1'b0}}, aw_fire} - {{WQ_PW{1'b0}}, b_fire};

            // ---- W handshake: store the beat, finish the burst ----
            if (w_fire) begin
                stat_write_beats <= stat_write_beats + 64'd1;
                if (w_access) mem[w_word[MEM_AW-1:0]] <= w_merged;
                if (w_last) begin
                    wq_rp <= wq_rp == WQ_LAST ? {WQ_PW{1'b0}} : wq_rp + 1'b1;
                    w_lasterr <= 1'b0;
                    bq_id[bq_wp] <= wq_id[wq_rp];
                    bq_resp[bq_wp] <= w_fault ? fault_resp
                                      : (w_resp == OKAY && (w_lasterr || !s_axi_wlast)) ? SLVERR : w_resp;
                    closed_bursts <= closed_bursts + 32'd1;
                    bq_due[bq_wp] <= now + WRITE_DUE;
                    bq_wp <= bq_wp == WQ_LAST ? {WQ_PW{1'b0}} : bq_wp + 1'b1;
                end else begin
                    wq_word[wq_rp] <= w_word + 1'b1;
                    wq_left[wq_rp] <= wq_left[wq_rp] - 8'd1;
                    if (s_axi_wlast) w_lasterr <= 1'b1;
                end
                if (s_axi_wlast != w_last)
                    $display("axi_mem_model %m: wlast=%0d on beat with %0d beats left (burst id %0h): SLVERR",
                             s_axi_wlast, wq_left[wq_rp], wq_id[wq_rp]);
            end
            bq_count <= bq_count + {{WQ_PW{1'b0}}, w_fire && w_last} - {{WQ_PW{1'b0}}, b_fire};
            if (b_fire) bq_rp <= bq_rp == WQ_LAST ? {WQ_PW{1'b0}} : bq_rp + 1'b1;

            // ---- bandwidth budget ----
            if (SHARED_DATA_BUS != 0) begin
                if (r_fetch || w_fire) r_gap <= GAP;
                else if (r_gap != 0) r_gap <= r_gap - 1'b1;
                if (r_fetch && w_contend) prio_w <= 1'b1;
                if (w_fire && r_contend) prio_w <= 1'b0;
            end else begin
                if (r_fetch) r_gap <= GAP;
                else if (r_gap != 0) r_gap <= r_gap - 1'b1;
                if (w_fire) w_gap <= GAP;
                else if (w_gap != 0) w_gap <= w_gap - 1'b1;
            end

            // ---- open rows and counters ----
            if (r_access) begin
                open_row[r_bank] <= r_row;
                open_valid[r_bank] <= 1'b1;
            end
            if (w_access) begin
                open_row[w_bank] <= w_row;
                open_valid[w_bank] <= 1'b1;
            end
            stat_row_activations <= stat_row_activations + (r_act ? 64'd1 : 64'd0) + (w_act ? 64'd1 : 64'd0);
            if (r_fire || w_fire) stat_busy_cycles <= stat_busy_cycles + 64'd1;
        end
    end
endmodule
