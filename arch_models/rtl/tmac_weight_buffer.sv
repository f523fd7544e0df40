// tmac_weight_buffer: the double-buffered weight buffer. Two halves of HALF_BEATS words of
// one memory beat each; the DMA writes whole beats, the array reads a window of WIN_BYTES
// consecutive bytes at any byte address of one half, registered: rd_window in cycle c is
// the window at the (rd_half, rd_byte) given in cycle c - 1, with the writes of cycle
// c - 1 in it (the array gives the address of its next step a cycle ahead).
//
// Storage: the halves' words, half 0's then half 1's, interleaved over NB banks (word k in
// bank k mod NB), each bank a RAM (tmac_ram) of one beat a word: a window touches at most
// NW <= NB consecutive words, one in each bank, so every bank reads one word a cycle and
// the words are put in order by a rotation and the window cut out by a byte shift after
// the RAMs' output registers. Bytes past the half are read from whatever follows it; the
// array never uses them.
module tmac_weight_buffer #(
    parameter int BEAT_BITS = 8,
    parameter int HALF_BEATS = 64,
    parameter int WIN_BYTES = 1
) (
    input  logic                   clk,
    input  logic                   wr_en,
    input  logic                   wr_half,
    input  logic [31:0]            wr_beat,
    input  logic [BEAT_BITS-1:0]   wr_data,
    input  logic                   rd_half,
    input  logic [31:0]            rd_byte,
    output logic [WIN_BYTES*8-1:0] rd_window
);
  localparam int BB = BEAT_BITS / 8;
  localparam int BB_LOG = $clog2(BB);
  localparam int NW = (WIN_BYTES + 2 * BB - 2) / BB;  // words a window may touch
  localparam int LOG_NB = NW > 1 ? $clog2(NW) : 0;
  localparam int NB = 1 << LOG_NB;  // banks
  localparam int BANK_DEPTH = (2 * HALF_BEATS + NB - 1) / NB;

  logic [31:0] wr_word, rd_word0;
  assign wr_word = (wr_half ? HALF_BEATS : 32'd0) + wr_beat;
  assign rd_word0 = (rd_half ? HALF_BEATS : 32'd0) + (rd_byte >> BB_LOG);

  // bank j holds words j, j + NB, ...: it reads the window's word in its bank, the one
  // at or after the window's first word
  logic [NB*BEAT_BITS-1:0] bank_q;
  generate
    for (genvar j = 0; j < NB; j++) begin : g_bank
      logic [31:0] row;
      logic we;
      assign we = wr_en && wr_beat < HALF_BEATS && (wr_word & (NB - 1)) == j;
      assign row = (rd_word0 >> LOG_NB) + ((rd_word0 & (NB - 1)) > j ? 32'd1 : 32'd0);
      tmac_ram #(
          .WIDTH(BEAT_BITS),
          .DEPTH(BANK_DEPTH)
      ) ram (
          .clk(clk),
          .wr_en(we),
          .wr_addr(wr_word >> LOG_NB),
          .wr_data(wr_data),
          .rd_addr(row),
          .rd_data(bank_q[j*BEAT_BITS+:BEAT_BITS])
      );
    end
  endgenerate

  // the window's first byte within the banks' words, registered with the read; the
  // banks' words twice over hold the window's NW words in order from there
  localparam int OFF_BITS = LOG_NB + BB_LOG > 0 ? LOG_NB + BB_LOG : 1;
  localparam int TW = 2 * NB * BEAT_BITS;
  logic [31:0] off;
  logic [OFF_BITS-1:0] off_q;
  assign off = ((rd_word0 & (NB - 1)) << BB_LOG) | (rd_byte & (BB - 1));
  always_ff @(posedge clk) off_q <= off[OFF_BITS-1:0];

  // the window, shifted down by off_q bytes: one stage per bit of off_q (stage k's input
  // in st[(k+1)*TW +: TW]), the largest first, each keeping only the bytes the window can
  // still come from
  logic [(OFF_BITS+1)*TW-1:0] st  /* verilator split_var */;
  assign st[OFF_BITS*TW+:TW] = {bank_q, bank_q};
  generate
    for (genvar k = 0; k < OFF_BITS; k++) begin : g_shift
      localparam int KEEP = (WIN_BYTES + (1 << k) - 1) * 8;
      assign st[k*TW+:KEEP] = off_q[k] ? st[(k+1)*TW+(1<<k)*8+:KEEP] : st[(k+1)*TW+:KEEP];
      if (KEEP < TW) begin : g_pad
        assign st[k*TW+KEEP+:TW-KEEP] = '0;
      end
    end
  endgenerate
  assign rd_window = st[WIN_BYTES*8-1:0];

  // verilator lint_off UNUSEDSIGNAL
  logic unused;
  assign unused = ^{st, off};
  // verilator lint_on UNUSEDSIGNAL
endmodule
