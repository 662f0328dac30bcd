// Streams vectors through one FP32 unit at one operation per cycle.
//
// The host writes operand files, sets `count` and pulses `start`; the bench
// loads both memories in bulk ($readmemh, file names from +FP_A= / +FP_B=),
// feeds one pair per cycle, captures every result in order, writes them out
// ($writememh to +FP_R=) and raises `done`.  Python wakes once per chunk.
`timescale 1ns/1ps
module fp_stream_tb #(
    parameter integer DEPTH = 1024
) (
    input  wire        clk,
    input  wire        rst,
    input  wire        start,
    input  wire [31:0] count,
    output reg         done,
    output reg  [31:0] cycles
);
    reg [31:0] mem_a [0:DEPTH-1];
    reg [31:0] mem_b [0:DEPTH-1];
    reg [31:0] mem_r [0:DEPTH-1];
    reg [1023:0] file_a, file_b, file_r;
    reg [31:0] rd_idx, wr_idx;
    reg running;

    wire        in_valid = running && (rd_idx < count);
    wire [31:0] a = in_valid ? mem_a[rd_idx[$clog2(DEPTH)-1:0]] : 32'd0;
    wire [31:0] b = in_valid ? mem_b[rd_idx[$clog2(DEPTH)-1:0]] : 32'd0;
    wire        out_valid;
    wire [31:0] result;

    `DUT dut (
        .clk(clk), .rst(rst), .in_valid(in_valid), .a(a), .b(b),
        .out_valid(out_valid), .result(result)
    );

    initial begin
        if (!$value$plusargs("FP_A=%s", file_a)) file_a = "a.hex";
        if (!$value$plusargs("FP_B=%s", file_b)) file_b = "b.hex";
        if (!$value$plusargs("FP_R=%s", file_r)) file_r = "r.hex";
    end

    always @(posedge clk) begin
        if (rst) begin
            running <= 1'b0;
            done <= 1'b0;
            rd_idx <= 32'd0;
            wr_idx <= 32'd0;
            cycles <= 32'd0;
        end else if (start) begin
            $readmemh(file_a, mem_a, 0, count - 1);
            $readmemh(file_b, mem_b, 0, count - 1);
            running <= 1'b1;
            done <= 1'b0;
            rd_idx <= 32'd0;
            wr_idx <= 32'd0;
            cycles <= 32'd0;
        end else if (running) begin
            cycles <= cycles + 32'd1;
            if (in_valid) rd_idx <= rd_idx + 32'd1;
            if (out_valid) begin
                mem_r[wr_idx[$clog2(DEPTH)-1:0]] <= result;
                wr_idx <= wr_idx + 32'd1;
            end
            if (wr_idx == count) begin
                $writememh(file_r, mem_r, 0, count - 1);
                running <= 1'b0;
                done <= 1'b1;
            end
        end
    end
endmodule
