// tmac_core: one core's ternary matrix-vector datapath, parameterised like the exported
// parameter package (explorer.export): the ternary_array block's fields (LANES,
// ROWS_PARALLEL, COUNT, TREE_DEPTH, PIPELINE_STAGES, WEIGHT_PACKING, ACCUMULATOR_BITS,
// ACCUMULATOR_OVERFLOW, ACTIVATION_BITS, TILE_COLS, HANDOFF_BUBBLE_CYCLES,
// START_LATENCY_CYCLES), the weight buffer's half (TILE_CAPACITY_BYTES), the memory path
// (BEAT_BITS, PATH_FIFO_BEATS, PATH_BEAT_INTERVAL_CYCLES, MAX_OUTSTANDING), the activation
// paths (ACT_PATH_BITS in, OUT_PATH_BITS out), dispatch (OP_OVERHEAD_CYCLES, and
// ISSUE_AHEAD: the control block's issue_ahead) and zero skipping (ZERO_SKIP: the array's
// zero_skipping).
//
// Each matvec command runs: OP_OVERHEAD_CYCLES of dispatch (with ISSUE_AHEAD, counted
// from the start of the command before: only what is left of them when this command is
// taken, none once the command before ran that long, none for the first); the activation import
// (ceil(cols * ACTIVATION_BITS / ACT_PATH_BITS) beats); START_LATENCY_CYCLES; the steps,
// as weights land in the buffer; the pipeline drain (PIPELINE_STAGES + TREE_DEPTH
// cycles); the export of the results (ceil(rows * ACCUMULATOR_BITS / OUT_PATH_BITS)
// beats, row 0 in the low bits). The weight DMA runs ahead of the array independently,
// across matvecs, one descriptor per buffer fill.
//
// Storage: the weight buffer (2 halves of HALF_BEATS beats), the activation store
// (MAX_COLS activations) and the result store (MAX_ROWS results, one word per row group)
// are RAMs with registered reads (tmac_ram), which synthesis maps to block or LUT RAM.
// Their reads are issued a cycle ahead: the array's from the sequencer's next position,
// the export's from its next beat, each with the write of the same cycle bypassed to it;
// so the schedule above is the one a combinational read would give.
module tmac_core #(
    parameter int LANES = 4,
    parameter int ROWS_PARALLEL = 1,
    parameter int COUNT = 1,
    parameter int TREE_DEPTH = 2,
    parameter int PIPELINE_STAGES = 2,
    parameter WEIGHT_PACKING = "2bit",
    parameter int ACCUMULATOR_BITS = 24,
    parameter ACCUMULATOR_OVERFLOW = "wrap",
    parameter int ACTIVATION_BITS = 8,
    parameter int TILE_COLS = 64,
    parameter int HANDOFF_BUBBLE_CYCLES = 0,
    parameter int START_LATENCY_CYCLES = 0,
    parameter int TILE_CAPACITY_BYTES = 512,
    parameter int BEAT_BITS = 8,
    parameter int PATH_FIFO_BEATS = 0,
    parameter int PATH_BEAT_INTERVAL_CYCLES = 1,
    parameter int MAX_OUTSTANDING = 0,
    parameter int ACT_PATH_BITS = 32,
    parameter int OUT_PATH_BITS = 24,
    parameter int OP_OVERHEAD_CYCLES = 0,
    parameter int ISSUE_AHEAD = 0,
    parameter int ZERO_SKIP = 0,
    parameter int MAX_ROWS = 512,
    parameter int MAX_COLS = 512,
    parameter int ADDR_BITS = 32,
    parameter int DESC_BITS = 16,
    parameter int SHAPE_BITS = 16
) (
    input  logic                     clk,
    input  logic                     rst_n,
    // matvec commands
    input  logic                     cmd_valid,
    output logic                     cmd_ready,
    input  logic [SHAPE_BITS-1:0]    cmd_rows,
    input  logic [SHAPE_BITS-1:0]    cmd_cols,
    // weight fill descriptors (beats per buffer fill)
    input  logic                     desc_valid,
    output logic                     desc_ready,
    input  logic [DESC_BITS-1:0]     desc_beats,
    // memory reads
    output logic                     mem_req_valid,
    input  logic                     mem_req_ready,
    output logic [ADDR_BITS-1:0]     mem_req_addr,
    input  logic                     mem_rsp_valid,
    input  logic [BEAT_BITS-1:0]     mem_rsp_data,
    // activations in
    input  logic                     act_valid,
    output logic                     act_ready,
    input  logic [ACT_PATH_BITS-1:0] act_data,
    // results out
    output logic                     out_valid,
    input  logic                     out_ready,
    output logic [OUT_PATH_BITS-1:0] out_data,
    output logic                     out_last,
    output logic                     busy
);
  // verilator lint_off WIDTH
  localparam bit FIVE_TRIT = WEIGHT_PACKING == "5trit";
  localparam bit SATURATE = ACCUMULATOR_OVERFLOW == "saturate";
  // verilator lint_on WIDTH
  localparam int P = ROWS_PARALLEL * COUNT;
  localparam int TPB = FIVE_TRIT ? 5 : 4;
  localparam int FULL_TILE = (P * TILE_COLS + TPB - 1) / TPB;
  localparam int TPF_Q = TILE_CAPACITY_BYTES / FULL_TILE;
  localparam int TILES_PER_FILL = TPF_Q > 0 ? TPF_Q : 1;
  localparam int BB = BEAT_BITS / 8;
  localparam int HALF_BEATS = (TILES_PER_FILL * FULL_TILE + BB - 1) / BB;
  // a step's codes from any code offset; with zero skipping a whole tile (from a byte)
  localparam int WIN_BYTES = ZERO_SKIP != 0 ? FULL_TILE : (P * LANES + 2 * TPB - 2) / TPB;
  localparam int FILL = PIPELINE_STAGES + TREE_DEPTH;
  // activations the array reads at once: a step's, with zero skipping a tile's
  localparam int RD_ACTS = ZERO_SKIP != 0 ? TILE_COLS : LANES;

  typedef enum logic [2:0] {
    IDLE,
    OVH,
    IMP,
    STL,
    CMP,
    EXP
  } state_t;
  state_t state;

  logic [31:0] nimp, nexp, cnt, icnt, ecnt, dcnt;
  logic [31:0] rows_in, cols_in, nimp_in;
  logic accept, act_take, out_take, steps_done, run;
  // dispatch: the cycles a taken command waits before its import; with ISSUE_AHEAD those
  // of OP_OVERHEAD_CYCLES not yet spent since the command before started (its import)
  logic [31:0] cycle, started, since, ovh;
  logic had;

  assign since = cycle - started;
  // (the first command's dispatch is done before the run, as the engine has it)
  assign ovh = ISSUE_AHEAD == 0 ? OP_OVERHEAD_CYCLES
      : !had || since >= OP_OVERHEAD_CYCLES ? 32'd0 : OP_OVERHEAD_CYCLES - since;
  assign rows_in = {{(32 - SHAPE_BITS) {1'b0}}, cmd_rows};
  assign cols_in = {{(32 - SHAPE_BITS) {1'b0}}, cmd_cols};
  assign nimp_in = (cols_in * ACTIVATION_BITS + ACT_PATH_BITS - 1) / ACT_PATH_BITS;
  assign accept = state == IDLE && cmd_valid;
  assign cmd_ready = state == IDLE;
  // with no dispatch wait the first import beat is taken in the command's own cycle
  assign act_ready = state == IMP || (accept && ovh == 32'd0);

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      cycle <= 32'd0;
      started <= 32'd0;
      had <= 1'b0;
    end else begin
      cycle <= cycle + 32'd1;
      if (accept) begin
        started <= cycle + ovh;  // the cycle its import begins
        had <= 1'b1;
      end
    end
  end
  assign act_take = act_valid && act_ready;
  assign out_valid = state == EXP;
  assign out_take = out_valid && out_ready;
  assign out_last = out_valid && ecnt + 32'd1 == nexp;
  assign run = state == CMP;
  assign busy = state != IDLE;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      state <= IDLE;
      cnt <= 32'd0;
      icnt <= 32'd0;
      ecnt <= 32'd0;
      dcnt <= 32'd0;
    end else begin
      case (state)
        IDLE:
        if (accept) begin
          nimp <= nimp_in;
          nexp <= (rows_in * ACCUMULATOR_BITS + OUT_PATH_BITS - 1) / OUT_PATH_BITS;
          dcnt <= 32'd0;
          ecnt <= 32'd0;
          if (ovh >= 32'd2) begin
            state <= OVH;
            cnt <= ovh - 32'd1;
            icnt <= 32'd0;
          end else if (ovh == 32'd1) begin
            state <= IMP;
            icnt <= 32'd0;
          end else if (act_take && nimp_in == 32'd1) begin
            state <= START_LATENCY_CYCLES > 0 ? STL : CMP;
            cnt <= START_LATENCY_CYCLES;
          end else begin
            state <= IMP;
            icnt <= act_take ? 32'd1 : 32'd0;
          end
        end
        OVH: begin
          if (cnt == 32'd1) state <= IMP;
          cnt <= cnt - 32'd1;
        end
        IMP:
        if (act_take) begin
          icnt <= icnt + 32'd1;
          if (icnt + 32'd1 == nimp) begin
            state <= START_LATENCY_CYCLES > 0 ? STL : CMP;
            cnt <= START_LATENCY_CYCLES;
          end
        end
        STL: begin
          if (cnt == 32'd1) state <= CMP;
          cnt <= cnt - 32'd1;
        end
        CMP:
        if (steps_done) begin
          if (dcnt == FILL - 1) state <= EXP;
          dcnt <= dcnt + 32'd1;
        end
        EXP:
        if (out_take) begin
          ecnt <= ecnt + 32'd1;
          if (ecnt + 32'd1 == nexp) state <= IDLE;
        end
        default: state <= IDLE;
      endcase
    end
  end

  // ---------------------------------------------------------------- activations, results
  logic [31:0] ibeat, act_rd;
  logic [RD_ACTS*ACTIVATION_BITS-1:0] act_word;
  logic res_valid;
  logic [P*ACCUMULATOR_BITS-1:0] res_data;
  assign ibeat = state == IDLE ? 32'd0 : icnt;

  tmac_act_store #(
      .ACT_BITS(ACTIVATION_BITS),
      .IN_BITS(ACT_PATH_BITS),
      .RD_ACTS(RD_ACTS),
      .COLS_STEP(LANES),
      .MAX_COLS(MAX_COLS)
  ) acts (
      .clk(clk),
      .in_valid(act_take),
      .in_first(ibeat == 32'd0),
      .in_data(act_data),
      .rd_addr(act_rd),
      .rd_data(act_word)
  );

  // export: beat e holds the results' bits [e*OUT_PATH_BITS, ...)
  tmac_result_store #(
      .GROUP_BITS(P * ACCUMULATOR_BITS),
      .GROUPS((MAX_ROWS + P - 1) / P),
      .OUT_BITS(OUT_PATH_BITS)
  ) results (
      .clk(clk),
      .rst_n(rst_n),
      .clear(accept),
      .wr_en(res_valid),
      .wr_data(res_data),
      .rd_restart(accept),
      .rd_next(out_take),
      .rd_data(out_data)
  );

  // ---------------------------------------------------------------- weight path
  logic wr_en, wr_half, rel_en, rel_half, rd_half;
  logic [31:0] wr_beat, rd_byte;
  logic [BEAT_BITS-1:0] wr_data;
  logic [1:0] half_full;
  logic [WIN_BYTES*8-1:0] rd_window;

  tmac_weight_stream #(
      .BEAT_BITS(BEAT_BITS),
      .FIFO_BEATS(PATH_FIFO_BEATS),
      .BEAT_INTERVAL(PATH_BEAT_INTERVAL_CYCLES),
      .MAX_OUTSTANDING(MAX_OUTSTANDING),
      .ADDR_BITS(ADDR_BITS),
      .DESC_BITS(DESC_BITS)
  ) dma (
      .clk(clk),
      .rst_n(rst_n),
      .desc_valid(desc_valid),
      .desc_ready(desc_ready),
      .desc_beats(desc_beats),
      .mem_req_valid(mem_req_valid),
      .mem_req_ready(mem_req_ready),
      .mem_req_addr(mem_req_addr),
      .mem_rsp_valid(mem_rsp_valid),
      .mem_rsp_data(mem_rsp_data),
      .wr_en(wr_en),
      .wr_half(wr_half),
      .wr_beat(wr_beat),
      .wr_data(wr_data),
      .half_full(half_full),
      .rel_en(rel_en),
      .rel_half(rel_half)
  );

  tmac_weight_buffer #(
      .BEAT_BITS(BEAT_BITS),
      .HALF_BEATS(HALF_BEATS),
      .WIN_BYTES(WIN_BYTES)
  ) wbuf (
      .clk(clk),
      .wr_en(wr_en),
      .wr_half(wr_half),
      .wr_beat(wr_beat),
      .wr_data(wr_data),
      .rd_half(rd_half),
      .rd_byte(rd_byte),
      .rd_window(rd_window)
  );

  tmac_array #(
      .LANES(LANES),
      .ROWS(P),
      .TREE_DEPTH(TREE_DEPTH),
      .PIPELINE_STAGES(PIPELINE_STAGES),
      .FIVE_TRIT(FIVE_TRIT),
      .ACC_BITS(ACCUMULATOR_BITS),
      .SATURATE(SATURATE),
      .ACT_BITS(ACTIVATION_BITS),
      .TILE_COLS(TILE_COLS),
      .TILES_PER_FILL(TILES_PER_FILL),
      .HANDOFF_BUBBLE(HANDOFF_BUBBLE_CYCLES),
      .MAX_COLS(MAX_COLS),
      .WIN_BYTES(WIN_BYTES),
      .ZERO_SKIP(ZERO_SKIP),
      .RD_ACTS(RD_ACTS)
  ) array (
      .clk(clk),
      .rst_n(rst_n),
      .start(accept),
      .rows(rows_in),
      .cols(cols_in),
      .run(run),
      .half_full(half_full),
      .rel_en(rel_en),
      .rel_half(rel_half),
      .rd_half(rd_half),
      .rd_byte(rd_byte),
      .rd_window(rd_window),
      .act_rd(act_rd),
      .act_word(act_word),
      .steps_done(steps_done),
      .res_valid(res_valid),
      .res_data(res_data)
  );
endmodule
