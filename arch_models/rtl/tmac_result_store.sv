// tmac_result_store: the result store and the export's reads. The array writes a row
// group's results (row 0 in the low bits) as one word, group after group from `clear`;
// the export reads them as a bit stream of OUT_BITS a beat (beat e holds bits
// [e * OUT_BITS, ...), row k in bits [k * ACC_BITS, ...)), from beat 0 after `rd_restart`,
// the next beat after each `rd_next`, registered: rd_data in cycle c is the beat the
// position reached in cycle c has, with the group written in cycle c - 1 in it. Words
// not written since `clear` read as zero (the rows past the matvec's).
//
// Storage: words of GROUP_BITS, GROUPS of them, interleaved over NB banks (word k in bank
// k mod NB), each bank a RAM (tmac_ram): a beat touches at most NW <= NB consecutive
// words, one in each bank; the words are put in order by a rotation and the beat cut out
// by a shift after the RAMs' output registers.
module tmac_result_store #(
    parameter int GROUP_BITS = 24,
    parameter int GROUPS = 512,
    parameter int OUT_BITS = 24
) (
    input  logic                  clk,
    input  logic                  rst_n,
    input  logic                  clear,
    input  logic                  wr_en,
    input  logic [GROUP_BITS-1:0] wr_data,
    input  logic                  rd_restart,
    input  logic                  rd_next,
    output logic [OUT_BITS-1:0]   rd_data
);
  localparam int GB = GROUP_BITS;
  localparam int NW = (OUT_BITS + 2 * GB - 2) / GB;  // words a beat may touch
  localparam int LOG_NB = NW > 1 ? $clog2(NW) : 0;
  localparam int NB = 1 << LOG_NB;
  localparam int BANK_DEPTH = (GROUPS + NB - 1) / NB;
  // a beat is Q words and R bits further than the one before it
  localparam int Q = OUT_BITS / GB;
  localparam int R = OUT_BITS % GB;
  // beats start at multiples of G bits of a word: the largest power of two dividing both
  localparam int OR_BITS = OUT_BITS | GB;
  localparam int G = OR_BITS & (~OR_BITS + 1);
  localparam int LOG_G = $clog2(G);
  localparam int BW = GB / G > 1 ? $clog2(GB / G) : 1;

  // ---------------------------------------------------------------- writes
  logic [31:0] count, count_n;
  always_comb begin
    count_n = count;
    if (!rst_n || clear) count_n = 32'd0;
    else if (wr_en) count_n = count + 32'd1;
  end
  always_ff @(posedge clk) count <= count_n;

  // ---------------------------------------------------------------- read position
  // pw: the beat's first word; pb: its first bit in that word (in G-bit units)
  logic [31:0] pw, pw_n, bits;
  logic [BW-1:0] pb, pb_n;
  always_comb begin
    pw_n = pw;
    pb_n = pb;
    bits = ({{(32 - BW) {1'b0}}, pb} << LOG_G) + R;
    if (!rst_n || rd_restart) begin
      pw_n = 32'd0;
      pb_n = '0;
    end else if (rd_next) begin
      if (bits >= GB) begin
        pw_n = pw + Q + 32'd1;
        bits = bits - GB;
      end else begin
        pw_n = pw + Q;
      end
      pb_n = bits[LOG_G+BW-1:LOG_G];
    end
  end
  always_ff @(posedge clk) begin
    pw <= pw_n;
    pb <= pb_n;
  end

  // ---------------------------------------------------------------- banks
  logic [NB*GB-1:0] bank_q;
  logic [NB-1:0] valid_q;
  generate
    for (genvar j = 0; j < NB; j++) begin : g_bank
      logic [31:0] row, word;
      logic [GB-1:0] q;
      logic we;
      assign we = wr_en && count < GROUPS && (count & (NB - 1)) == j;
      assign row = (pw_n >> LOG_NB) + ((pw_n & (NB - 1)) > j ? 32'd1 : 32'd0);
      assign word = (row << LOG_NB) + j;
      always_ff @(posedge clk) valid_q[j] <= word < count_n;
      tmac_ram #(
          .WIDTH(GB),
          .DEPTH(BANK_DEPTH)
      ) ram (
          .clk(clk),
          .wr_en(we),
          .wr_addr(count >> LOG_NB),
          .wr_data(wr_data),
          .rd_addr(row),
          .rd_data(q)
      );
      assign bank_q[j*GB+:GB] = valid_q[j] ? q : '0;
    end
  endgenerate

  // the beat's words in order (a rotation by whole words), then the beat from its bit
  logic [2*NB*GB-1:0] twice;
  logic [NB*GB-1:0] turned, shifted;
  assign twice = {bank_q, bank_q};
  always_comb begin
    turned = bank_q;
    for (int k = 1; k < NB; k++) begin
      if ((pw & (NB - 1)) == k) turned = twice[k*GB+:NB*GB];
    end
  end
  assign shifted = turned >> ({{(32 - BW) {1'b0}}, pb} << LOG_G);
  assign rd_data = shifted[OUT_BITS-1:0];

  // verilator lint_off UNUSEDSIGNAL
  logic unused;
  assign unused = ^{twice, shifted, bits};
  // verilator lint_on UNUSEDSIGNAL
endmodule
