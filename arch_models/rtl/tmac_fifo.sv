// tmac_fifo: a valid/ready stream FIFO of DEPTH entries with fall-through.
//
// An item offered to an empty FIFO while the consumer is ready passes through in the same
// cycle (it is never stored), so the FIFO adds no latency to a stream that is not
// back-pressured. `count` is the number of stored items.
module tmac_fifo #(
    parameter int WIDTH = 8,
    parameter int DEPTH = 2
) (
    input  logic             clk,
    input  logic             rst_n,
    input  logic             in_valid,
    output logic             in_ready,
    input  logic [WIDTH-1:0] in_data,
    output logic             out_valid,
    input  logic             out_ready,
    output logic [WIDTH-1:0] out_data,
    output logic [31:0]      count
);
  localparam int AW = DEPTH > 1 ? $clog2(DEPTH) : 1;
  localparam int LAST_I = DEPTH - 1;
  localparam logic [AW-1:0] LAST = LAST_I[AW-1:0];
  localparam logic [AW-1:0] ONE = {{(AW - 1) {1'b0}}, 1'b1};

  logic [WIDTH-1:0] mem[DEPTH];
  logic [AW-1:0] rd, wr;
  logic empty, bypass, push, pop;

  assign empty = count == 32'd0;
  assign bypass = empty && in_valid && out_ready;
  assign in_ready = count < DEPTH;
  assign out_valid = !empty || in_valid;
  assign out_data = empty ? in_data : mem[rd];
  assign push = in_valid && in_ready && !bypass;
  assign pop = !empty && out_ready;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      rd <= '0;
      wr <= '0;
      count <= 32'd0;
    end else begin
      if (push) begin
        mem[wr] <= in_data;
        wr <= wr == LAST ? '0 : wr + ONE;
      end
      if (pop) rd <= rd == LAST ? '0 : rd + ONE;
      if (push && !pop) count <= count + 32'd1;
      else if (pop && !push) count <= count - 32'd1;
    end
  end
endmodule
