// Host-side testbench for one accelerator (pp_accel).
//
// On `go` the bench loads weight, input and bias images with $readmemh
// (files named by +W_FILE= +X_FILE= +B_FILE=), writes them word by word into
// the accelerator's scratchpad port, starts the layer with the descriptor on
// its inputs, waits for `done`, reads `n_y` result words back through the
// result port and writes them with $writememh (+Y_FILE=).  Python sets the
// descriptor, pulses `go` and wakes once, on `tb_done`.
`timescale 1ns/1ps
module accel_tb #(
    parameter integer ROWS = 4,
    parameter integer COLS = 4,
    parameter integer WDEPTH = 64,
    parameter integer XDEPTH = 64,
    parameter integer BDEPTH = 16,
    parameter integer ADEPTH = 64
) (
`ifndef PP_INTERNAL_CLOCK
    input  wire        clk,
`endif
    input  wire        rst,
    input  wire        go,
    input  wire [31:0] n_w, n_x, n_b, n_y,
    input  wire [15:0] dim_m, dim_k, dim_n,
    input  wire        use_bias, relu,
    output reg         tb_done,
    output wire        acc_busy, acc_done, acc_error,
    output wire [31:0] cycles_total, cycles_setup, cycles_compute, cycles_weight_wait,
    output wire [31:0] cycles_stall, cycles_drain, cycles_weight_load
);
`ifdef PP_INTERNAL_CLOCK
    // cocotb builds run the clock inside the simulator (Verilator --timing):
    // no per-edge round trip through the VPI, Python wakes only on tb_done.
    reg clk = 1'b0;
    always #5 clk = ~clk;
`endif
    localparam integer WIDE = (ROWS > COLS ? ROWS : COLS) * 32;
    localparam [2:0] IDLE = 0, LOAD_W = 1, LOAD_X = 2, LOAD_B = 3, START = 4, RUN = 5, READ = 6;

    reg [COLS*32-1:0] tb_w [0:WDEPTH-1];
    reg [ROWS*32-1:0] tb_x [0:XDEPTH-1];
    reg [COLS*32-1:0] tb_b [0:BDEPTH-1];
    reg [COLS*32-1:0] tb_y [0:ADEPTH-1];
    reg [1023:0] w_file, x_file, b_file, y_file;
    reg [2:0]  state;
    reg [31:0] idx;
    reg        wr_en, start;
    reg [1:0]  wr_mem;
    reg [23:0] wr_addr, rd_addr;
    reg [WIDE-1:0] wr_data;
    reg        rd_pending, rd_pending2;
    reg [31:0] rd_idx;
    wire [COLS*32-1:0] rd_data;

    pp_accel dut (
        .clk(clk), .rst(rst),
        .start(start), .m(dim_m), .k(dim_k), .n(dim_n), .use_bias(use_bias), .relu(relu),
        .busy(acc_busy), .done(acc_done), .error(acc_error),
        .wr_en(wr_en), .wr_mem(wr_mem), .wr_addr(wr_addr), .wr_data(wr_data),
        .rd_en(1'b1), .rd_addr(rd_addr), .rd_data(rd_data), .rd_ready(),   // read after done: every word final
        .cycles_total(cycles_total), .cycles_setup(cycles_setup), .cycles_compute(cycles_compute),
        .cycles_weight_wait(cycles_weight_wait), .cycles_stall(cycles_stall),
        .cycles_drain(cycles_drain), .cycles_weight_load(cycles_weight_load),
        .ring_arrived(32'd0), .ring_consumed()      // weight ring unused here (no ring tiles)
    );

    initial begin
        if (!$value$plusargs("W_FILE=%s", w_file)) w_file = "w.hex";
        if (!$value$plusargs("X_FILE=%s", x_file)) x_file = "x.hex";
        if (!$value$plusargs("B_FILE=%s", b_file)) b_file = "b.hex";
        if (!$value$plusargs("Y_FILE=%s", y_file)) y_file = "y.hex";
    end

    always @(posedge clk) begin
        wr_en <= 1'b0;
        start <= 1'b0;
        if (rst) begin
            state <= IDLE;
            tb_done <= 1'b0;
            rd_pending <= 1'b0;
            rd_pending2 <= 1'b0;
        end else begin
            case (state)
                IDLE: if (go) begin
                    if (n_w != 0) $readmemh(w_file, tb_w, 0, n_w - 1);
                    if (n_x != 0) $readmemh(x_file, tb_x, 0, n_x - 1);
                    if (n_b != 0) $readmemh(b_file, tb_b, 0, n_b - 1);
                    tb_done <= 1'b0;
                    idx <= 0;
                    state <= LOAD_W;
                end
                LOAD_W: if (idx < n_w) begin
                    wr_en <= 1'b1; wr_mem <= 2'd0; wr_addr <= idx[23:0];
                    wr_data <= {{(WIDE-COLS*32){1'b0}}, tb_w[idx]};
                    idx <= idx + 1;
                end else begin idx <= 0; state <= LOAD_X; end
                LOAD_X: if (idx < n_x) begin
                    wr_en <= 1'b1; wr_mem <= 2'd1; wr_addr <= idx[23:0];
                    wr_data <= {{(WIDE-ROWS*32){1'b0}}, tb_x[idx]};
                    idx <= idx + 1;
                end else begin idx <= 0; state <= LOAD_B; end
                LOAD_B: if (idx < n_b) begin
                    wr_en <= 1'b1; wr_mem <= 2'd2; wr_addr <= idx[23:0];
                    wr_data <= {{(WIDE-COLS*32){1'b0}}, tb_b[idx]};
                    idx <= idx + 1;
                end else state <= START;
                START: begin start <= 1'b1; state <= RUN; end
                RUN: if (!start && !acc_busy && acc_done) begin
                    idx <= 0; rd_idx <= 0; rd_pending <= 1'b0; rd_pending2 <= 1'b0; state <= READ;
                end
                READ: begin
                    // rd_addr is registered and the read port is synchronous:
                    // the word for an address issued now arrives two cycles later.
                    rd_pending <= idx < n_y;
                    rd_pending2 <= rd_pending;
                    if (idx < n_y) begin rd_addr <= idx[23:0]; idx <= idx + 1; end
                    if (rd_pending2) begin tb_y[rd_idx] <= rd_data; rd_idx <= rd_idx + 1; end
                    if (idx >= n_y && !rd_pending && !rd_pending2) begin
                        if (n_y != 0) $writememh(y_file, tb_y, 0, n_y - 1);
                        tb_done <= 1'b1;
                        state <= IDLE;
                    end
                end
                default: state <= IDLE;
            endcase
        end
    end
endmodule
