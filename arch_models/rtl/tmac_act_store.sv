// tmac_act_store: the activation store. The import writes a matvec's activations as a bit
// stream of IN_BITS a beat (beat i holds bits [i * IN_BITS, ...), activation k in bits
// [k * ACT_BITS, ...)); the array reads RD_ACTS consecutive activations a cycle, from an
// activation index that is a multiple of RD_ACTS (rd_addr counts reads: rd_addr *
// RD_ACTS), registered: rd_data in cycle c is the read at the rd_addr of cycle c - 1,
// with the import beat of cycle c - 1 in it (the array gives its next step's address a
// cycle ahead).
//
// Storage: one RAM (tmac_ram) of words of M reads (M the smallest power of two with
// M * RD_ACTS * ACT_BITS >= IN_BITS, so that a beat completes at most one word). A
// gearbox packs the beats into words: a staging register holds the word being filled and
// the RAM is written when a beat completes it. When a word holds more activations than
// the matvec's columns are a multiple of (COLS_STEP), the last one may stay partial: reads
// of the word being filled are answered from the staging register.
module tmac_act_store #(
    parameter int ACT_BITS = 8,
    parameter int IN_BITS = 32,
    parameter int RD_ACTS = 4,
    parameter int COLS_STEP = 4,
    parameter int MAX_COLS = 512
) (
    input  logic                         clk,
    input  logic                         in_valid,
    input  logic                         in_first,  // the beat is a matvec's first
    input  logic [IN_BITS-1:0]           in_data,
    input  logic [31:0]                  rd_addr,
    output logic [RD_ACTS*ACT_BITS-1:0]  rd_data
);
  localparam int RD_BITS = RD_ACTS * ACT_BITS;
  localparam int LOG_M = $clog2((IN_BITS + RD_BITS - 1) / RD_BITS);
  localparam int M = 1 << LOG_M;
  localparam int WB = M * RD_BITS;  // bits of a RAM word
  localparam int DEPTH = (MAX_COLS + M * RD_ACTS - 1) / (M * RD_ACTS);
  localparam bit TAIL = M * RD_ACTS > COLS_STEP;
  // beats land at multiples of G bits of a word: the largest power of two dividing both
  localparam int OR_BITS = IN_BITS | WB;
  localparam int G = OR_BITS & (~OR_BITS + 1);
  localparam int LOG_G = $clog2(G);
  localparam int FW = WB / G > 1 ? $clog2(WB / G) : 1;

  // ---------------------------------------------------------------- gearbox
  logic [WB-1:0] stage, s0;
  logic [FW-1:0] fill, f0;
  logic [31:0] widx, w0, at, used, widx_n;
  logic [WB+IN_BITS-1:0] merged, rest;
  logic [31:0] fill_n;
  logic full;

  assign f0 = in_first ? '0 : fill;
  assign s0 = in_first ? '0 : stage;
  assign w0 = in_first ? 32'd0 : widx;
  assign at = {{(32 - FW) {1'b0}}, f0} << LOG_G;
  assign merged = {{IN_BITS{1'b0}}, s0} | ({{WB{1'b0}}, in_data} << at);
  assign used = at + IN_BITS;
  assign full = used >= WB;
  assign widx_n = in_valid ? (full ? w0 + 32'd1 : w0) : widx;
  assign rest = merged >> WB;
  assign fill_n = (full ? used - WB : used) >> LOG_G;

  always_ff @(posedge clk) begin
    if (in_valid) begin
      widx <= widx_n;
      fill <= fill_n[FW-1:0];
      stage <= full ? rest[WB-1:0] : merged[WB-1:0];
    end
  end

  // ---------------------------------------------------------------- RAM and read
  logic [31:0] raddr;
  logic [WB-1:0] ram_q, word;
  assign raddr = rd_addr >> LOG_M;

  tmac_ram #(
      .WIDTH(WB),
      .DEPTH(DEPTH)
  ) ram (
      .clk(clk),
      .wr_en(in_valid && full),
      .wr_addr(w0),
      .wr_data(merged[WB-1:0]),
      .rd_addr(raddr),
      .rd_data(ram_q)
  );

  generate
    if (TAIL) begin : g_tail
      logic tail_q;
      always_ff @(posedge clk) tail_q <= raddr == widx_n;
      assign word = tail_q ? stage : ram_q;
    end else begin : g_notail
      assign word = ram_q;
    end
    if (M > 1) begin : g_sel
      logic [LOG_M-1:0] sel_q;
      always_ff @(posedge clk) sel_q <= rd_addr[LOG_M-1:0];
      assign rd_data = word[sel_q*RD_BITS+:RD_BITS];
    end else begin : g_nosel
      assign rd_data = word;
    end
  endgenerate

  // verilator lint_off UNUSEDSIGNAL
  logic unused;
  assign unused = ^{rest, fill_n};
  // verilator lint_on UNUSEDSIGNAL
endmodule
