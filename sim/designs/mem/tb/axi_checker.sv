// AXI4 protocol checker for one memory port (a passive monitor, no outputs to the bus).
//
// Checked on every clock, in the simulator (no Python per cycle):
//   * a burst never crosses a 4 KiB boundary; burst type not reserved; WRAP
//     lengths 2/4/8/16 beats; FIXED at most 16 beats; AxSIZE not wider than
//     the bus (INCR bursts are at most 256 beats by their 8-bit length);
//   * VALID, once raised, stays up with its payload unchanged until READY,
//     on all five channels (master and slave side);
//   * WLAST on the last beat of each write burst, in AW order (data may come
//     before its address), RLAST on the last beat of each read burst per ID;
//   * no more than MAX_READS / MAX_WRITES transactions outstanding, and no B
//     or R beat without an outstanding request.
// Each violation adds one to `violations`; the first REPORT_LIMIT are printed
// as "axi_checker <NAME>: <what>".
`timescale 1ns/1ps
module axi_checker #(
    parameter ADDR_W = 32,
    parameter DATA_W = 64,
    parameter ID_W = 4,
    parameter MAX_READS = 8,
    parameter MAX_WRITES = 8,
    parameter NAME = "axi",
    parameter REPORT_LIMIT = 16
) (
    input wire clk,
    input wire rst,
    input wire [ID_W-1:0] awid, input wire [ADDR_W-1:0] awaddr, input wire [7:0] awlen,
    input wire [2:0] awsize, input wire [1:0] awburst, input wire awvalid, input wire awready,
    input wire [DATA_W-1:0] wdata, input wire [DATA_W/8-1:0] wstrb, input wire wlast,
    input wire wvalid, input wire wready,
    input wire [ID_W-1:0] bid, input wire [1:0] bresp, input wire bvalid, input wire bready,
    input wire [ID_W-1:0] arid, input wire [ADDR_W-1:0] araddr, input wire [7:0] arlen,
    input wire [2:0] arsize, input wire [1:0] arburst, input wire arvalid, input wire arready,
    input wire [ID_W-1:0] rid, input wire [DATA_W-1:0] rdata, input wire [1:0] rresp, input wire rlast,
    input wire rvalid, input wire rready,
    output reg [31:0] violations
);
    localparam DEPTH = 64;                  // pending bursts tracked per queue
    localparam IDS = 1 << ID_W;
    localparam RDEPTH = 32;                 // pending reads tracked per ID

    wire [ID_W+ADDR_W+8+3+2-1:0] aw_now = {awid, awaddr, awlen, awsize, awburst};
    wire [ID_W+ADDR_W+8+3+2-1:0] ar_now = {arid, araddr, arlen, arsize, arburst};
    wire [DATA_W+DATA_W/8:0] w_now = {wdata, wstrb, wlast};
    wire [ID_W+2-1:0] b_now = {bid, bresp};
    wire [ID_W+DATA_W+2:0] r_now = {rid, rdata, rresp, rlast};
    reg [ID_W+ADDR_W+8+3+2-1:0] aw_prev, ar_prev;
    reg [DATA_W+DATA_W/8:0] w_prev;
    reg [ID_W+2-1:0] b_prev;
    reg [ID_W+DATA_W+2:0] r_prev;
    reg aw_wait, ar_wait, w_wait, b_wait, r_wait;

    // write bursts: AW lengths waiting for their data, or data bursts waiting for their AW
    integer aw_q [0:DEPTH-1];
    integer wd_q [0:DEPTH-1];
    integer aw_head, aw_count, wd_head, wd_count, w_beats, writes;
    // read bursts per ID: lengths in AR order, beats of the current one
    integer ar_q [0:IDS*RDEPTH-1];
    integer ar_head [0:IDS-1];
    integer ar_count [0:IDS-1];
    integer r_beats [0:IDS-1];
    integer reads, i, bytes, want;

    task flag(input [8*72-1:0] what);
        begin
            if (violations < REPORT_LIMIT)
                $display("axi_checker %0s: %0s (t=%0t)", NAME, what, $time);
            violations = violations + 1;
        end
    endtask

    task check_burst(input is_write, input [ADDR_W-1:0] addr, input [7:0] len, input [2:0] size,
                     input [1:0] burst);
        begin
            bytes = (len + 1) << size;
            if ((1 << size) > DATA_W / 8) flag(is_write ? "AWSIZE wider than the bus" : "ARSIZE wider than the bus");
            if (burst == 2'b11) flag(is_write ? "AWBURST reserved" : "ARBURST reserved");
            if (burst == 2'b01 && addr[11:0] + bytes > 4096)
                flag(is_write ? "write burst crosses a 4 KiB boundary" : "read burst crosses a 4 KiB boundary");
            if (burst == 2'b10 && !(len == 1 || len == 3 || len == 7 || len == 15))
                flag(is_write ? "WRAP write burst length not 2/4/8/16" : "WRAP read burst length not 2/4/8/16");
            if (burst == 2'b00 && len > 15)
                flag(is_write ? "FIXED write burst longer than 16" : "FIXED read burst longer than 16");
        end
    endtask

    initial violations = 0;

    always @(posedge clk) begin
        if (rst) begin
            violations = 0;
            aw_wait = 0; ar_wait = 0; w_wait = 0; b_wait = 0; r_wait = 0;
            aw_head = 0; aw_count = 0; wd_head = 0; wd_count = 0; w_beats = 0; writes = 0; reads = 0;
            for (i = 0; i < IDS; i = i + 1) begin
                ar_head[i] = 0; ar_count[i] = 0; r_beats[i] = 0;
            end
        end else begin
            // VALID held, payload stable, until READY
            if (aw_wait && !awvalid) flag("AWVALID dropped before AWREADY");
            else if (aw_wait && aw_now !== aw_prev) begin
                flag("AW payload changed while waiting for AWREADY");
                if (violations <= REPORT_LIMIT)
                    $display("axi_checker %0s:   {id,addr,len,size,burst} %h -> %h", NAME, aw_prev, aw_now);
            end
            if (ar_wait && !arvalid) flag("ARVALID dropped before ARREADY");
            else if (ar_wait && ar_now !== ar_prev) begin
                flag("AR payload changed while waiting for ARREADY");
                if (violations <= REPORT_LIMIT)
                    $display("axi_checker %0s:   {id,addr,len,size,burst} %h -> %h", NAME, ar_prev, ar_now);
            end
            if (w_wait && !wvalid) flag("WVALID dropped before WREADY");
            else if (w_wait && w_now !== w_prev) flag("W payload changed while waiting for WREADY");
            if (b_wait && !bvalid) flag("BVALID dropped before BREADY");
            else if (b_wait && b_now !== b_prev) flag("B payload changed while waiting for BREADY");
            if (r_wait && !rvalid) flag("RVALID dropped before RREADY");
            else if (r_wait && r_now !== r_prev) flag("R payload changed while waiting for RREADY");
            aw_wait = awvalid && !awready; aw_prev = aw_now;
            ar_wait = arvalid && !arready; ar_prev = ar_now;
            w_wait = wvalid && !wready; w_prev = w_now;
            b_wait = bvalid && !bready; b_prev = b_now;
            r_wait = rvalid && !rready; r_prev = r_now;

            // write address: match a data burst that came first, or wait for its data
            if (awvalid && awready) begin
                check_burst(1, awaddr, awlen, awsize, awburst);
                writes = writes + 1;
                if (writes > MAX_WRITES) flag("more writes outstanding than MAX_WRITES");
                if (wd_count > 0) begin
                    if (wd_q[wd_head] != awlen + 1) flag("write data burst length differs from AWLEN + 1");
                    wd_head = (wd_head + 1) % DEPTH; wd_count = wd_count - 1;
                end else if (aw_count < DEPTH) begin
                    aw_q[(aw_head + aw_count) % DEPTH] = awlen + 1; aw_count = aw_count + 1;
                end
            end
            // write data: WLAST exactly on the burst's last beat
            if (wvalid && wready) begin
                w_beats = w_beats + 1;
                if (aw_count > 0) begin
                    want = aw_q[aw_head];
                    if (wlast && w_beats < want) flag("WLAST before the last beat of the burst");
                    if (!wlast && w_beats == want) flag("WLAST missing on the last beat of the burst");
                    if (wlast || w_beats == want) begin
                        aw_head = (aw_head + 1) % DEPTH; aw_count = aw_count - 1; w_beats = 0;
                    end
                end else if (wlast || w_beats == 256) begin   // data ahead of its address
                    if (!wlast) flag("write data burst longer than 256 beats");
                    if (wd_count < DEPTH) begin
                        wd_q[(wd_head + wd_count) % DEPTH] = w_beats; wd_count = wd_count + 1;
                    end
                    w_beats = 0;
                end
            end
            if (bvalid && bready) begin
                if (writes == 0) flag("B response without an outstanding write");
                else writes = writes - 1;
            end

            // read address and data: RLAST on the last beat, per ID, in AR order
            if (arvalid && arready) begin
                check_burst(0, araddr, arlen, arsize, arburst);
                reads = reads + 1;
                if (reads > MAX_READS) flag("more reads outstanding than MAX_READS");
                if (ar_count[arid] < RDEPTH) begin
                    ar_q[arid * RDEPTH + (ar_head[arid] + ar_count[arid]) % RDEPTH] = arlen + 1;
                    ar_count[arid] = ar_count[arid] + 1;
                end
            end
            if (rvalid && rready) begin
                if (ar_count[rid] == 0) flag("R beat without an outstanding read of its ID");
                else begin
                    r_beats[rid] = r_beats[rid] + 1;
                    want = ar_q[rid * RDEPTH + ar_head[rid]];
                    if (rlast && r_beats[rid] < want) flag("RLAST before the last beat of the burst");
                    if (!rlast && r_beats[rid] == want) flag("RLAST missing on the last beat of the burst");
                    if (rlast || r_beats[rid] == want) begin
                        ar_head[rid] = (ar_head[rid] + 1) % RDEPTH; ar_count[rid] = ar_count[rid] - 1;
                        r_beats[rid] = 0; reads = reads - 1;
                    end
                end
            end
        end
    end
endmodule
