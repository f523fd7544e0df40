// tmac_ram: a simple dual-port RAM of DEPTH words of WIDTH bits: one write port, one read
// port with a registered (synchronous) read, as block RAM and LUT RAM have.
//
// rd_data in cycle c is the word at the rd_addr of cycle c - 1 as it stands after the
// writes of cycle c - 1 (write-first): a write to the word being read is passed to the
// output by a bypass register, so the memory itself may answer such a collision with
// anything (`no_rw_check`: Yosys maps it to a RAM of either read-during-write mode).
// Addresses past DEPTH - 1 are the caller's to avoid: such writes are dropped and such
// reads return an unspecified word.
module tmac_ram #(
    parameter int WIDTH = 8,
    parameter int DEPTH = 2
) (
    input  logic             clk,
    input  logic             wr_en,
    input  logic [31:0]      wr_addr,
    input  logic [WIDTH-1:0] wr_data,
    input  logic [31:0]      rd_addr,
    output logic [WIDTH-1:0] rd_data
);
  localparam int AW = DEPTH > 1 ? $clog2(DEPTH) : 1;

  (* no_rw_check *)
  logic [WIDTH-1:0] mem[DEPTH];
  logic [WIDTH-1:0] ram_q, byp_q;
  logic hit_q;

  always_ff @(posedge clk) begin
    if (wr_en && wr_addr < DEPTH) mem[wr_addr[AW-1:0]] <= wr_data;
  end
  always_ff @(posedge clk) begin
    ram_q <= mem[rd_addr[AW-1:0]];
  end
  always_ff @(posedge clk) begin
    hit_q <= wr_en && wr_addr == rd_addr;
    byp_q <= wr_data;
  end
  assign rd_data = hit_q ? byp_q : ram_q;

  // verilator lint_off UNUSEDSIGNAL
  logic unused;
  assign unused = ^{wr_addr[31:AW], rd_addr[31:AW]};
  // verilator lint_on UNUSEDSIGNAL
endmodule
