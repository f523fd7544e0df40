// tmac_weight_buffer: the double-buffered weight buffer. Two halves of HALF_BEATS words of
// one memory beat each; the DMA writes whole beats, the array reads a window of WIN_BYTES
// consecutive bytes at any byte address of one half (bytes past the half read as zero).
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
  localparam int NW = (WIN_BYTES + BB - 1) / BB + 1;  // words a window may touch

  logic [BEAT_BITS-1:0] mem[2*HALF_BEATS];
  logic [NW*BEAT_BITS-1:0] words;
  logic [31:0] word0;
  logic [NW*BEAT_BITS-1:0] shifted;

  always_ff @(posedge clk) begin
    if (wr_en && wr_beat < HALF_BEATS) mem[{31'd0, wr_half}*HALF_BEATS+wr_beat] <= wr_data;
  end

  assign word0 = rd_byte >> BB_LOG;
  always_comb begin
    for (int i = 0; i < NW; i++) begin
      if (word0 + i < HALF_BEATS) words[i*BEAT_BITS+:BEAT_BITS] = mem[{31'd0, rd_half}*HALF_BEATS+word0+i];
      else words[i*BEAT_BITS+:BEAT_BITS] = '0;
    end
  end
  generate
    if (BB > 1) begin : g_shift
      logic [BB_LOG-1:0] boff;
      assign boff = rd_byte[BB_LOG-1:0];
      assign shifted = words >> {boff, 3'b000};
    end else begin : g_noshift
      assign shifted = words;
    end
  endgenerate
  assign rd_window = shifted[WIN_BYTES*8-1:0];

  // verilator lint_off UNUSEDSIGNAL
  logic unused;
  assign unused = ^{shifted, rd_byte};
  // verilator lint_on UNUSEDSIGNAL
endmodule
