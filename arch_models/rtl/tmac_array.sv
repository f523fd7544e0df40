// tmac_array: the ternary matrix-vector array of one core: the step sequencer, weight
// decode, ROWS adder trees of LANES lanes, their reducers and the result store.
//
// A matvec of `rows` x `cols` (cols a multiple of LANES) is cut into row groups of ROWS
// rows and column tiles of TILE_COLS columns, visited group by group; a tile takes
// width / LANES steps, one a cycle, each step feeding every tree LANES weights of its row
// and the same LANES activations. Weights come from the weight buffer in the order of the
// steps (per step: row 0's LANES weights, row 1's, ...), packed 4 a byte (2-bit codes) or
// 5 a byte (5-trit: byte = sum of (w_k + 1) * 3^k); each tile starts on a byte. A buffer
// fill holds TILES_PER_FILL tiles (fewer at the end of a matvec); the half is released
// when its last step has issued. After a row group's last step the array idles
// HANDOFF_BUBBLE cycles (0: none), and the half it finished is released after them.
// Results leave PIPELINE_STAGES + TREE_DEPTH cycles after their group's last step.
//
// With ZERO_SKIP a tile is read whole in its first step (the same bytes, in the same
// order) and every tree takes, each step, the next LANES nonzero weights of its own row
// with their activations, so a tile takes max(1, max over rows of ceil(nonzeros / LANES))
// steps. The sums are then formed in another order than the functional model's column
// tree, which only a wrapping (modular) accumulator makes immaterial: the RTL refuses
// ZERO_SKIP with SATURATE (arch_models.rtl.params).
module tmac_array #(
    parameter int LANES = 4,
    parameter int ROWS = 1,
    parameter int TREE_DEPTH = 2,
    parameter int PIPELINE_STAGES = 2,
    parameter bit FIVE_TRIT = 1'b0,
    parameter int ACC_BITS = 24,
    parameter bit SATURATE = 1'b0,
    parameter int ACT_BITS = 8,
    parameter int TILE_COLS = 64,
    parameter int TILES_PER_FILL = 8,
    parameter int HANDOFF_BUBBLE = 0,
    parameter int MAX_ROWS = 512,
    parameter int MAX_COLS = 512,
    parameter int WIN_BYTES = 1,
    parameter int ZERO_SKIP = 0
) (
    input  logic                         clk,
    input  logic                         rst_n,
    input  logic                         start,      // latch a matvec's shape
    input  logic [31:0]                  rows,
    input  logic [31:0]                  cols,
    input  logic                         run,        // steps may issue
    input  logic [1:0]                   half_full,
    output logic                         rel_en,
    output logic                         rel_half,
    output logic                         rd_half,
    output logic [31:0]                  rd_byte,
    input  logic [WIN_BYTES*8-1:0]       rd_window,
    input  logic [MAX_COLS*ACT_BITS-1:0] acts,
    output logic                         steps_done,
    output logic [MAX_ROWS*ACC_BITS-1:0] results
);
  localparam int TPB = FIVE_TRIT ? 5 : 4;  // weights per byte
  localparam int NCODES = WIN_BYTES * TPB;
  localparam int LOG_TC = $clog2(TILE_COLS);
  localparam int LOG_L = $clog2(LANES);
  localparam int STEPS_FULL = TILE_COLS / LANES;
  localparam int FILL = PIPELINE_STAGES + TREE_DEPTH;
  localparam int LEVELS = $clog2(MAX_COLS / LANES) + 1;
  localparam int P = ROWS;

  // ---------------------------------------------------------------- shape
  logic [31:0] n_ct, steps_last, n_groups, gr_last;
  logic [31:0] c_ct, c_groups;
  // shapes are SHAPE_BITS (16) wide: divide on 17 bits, not 32 (a divider by a constant)
  localparam logic [31:0] P32 = P;
  localparam logic [16:0] P17 = P32[16:0];
  logic [16:0] q_groups;
  assign c_ct = (cols + TILE_COLS - 1) >> LOG_TC;
  assign q_groups = (rows[16:0] + P17 - 17'd1) / P17;
  assign c_groups = {15'd0, q_groups};
  always_ff @(posedge clk) begin
    if (start) begin
      n_ct <= c_ct;
      steps_last <= (cols - ((c_ct - 32'd1) << LOG_TC)) >> LOG_L;
      n_groups <= c_groups;
      gr_last <= rows - (c_groups - 32'd1) * P;
    end
  end

  // ---------------------------------------------------------------- sequencer
  logic [31:0] g, t, s, ft, rb, ro, bubble;
  logic rh, pend_rel, pend_half, issued_all;
  logic [31:0] gr, nsteps, ntr, rb_n, ro_n;
  logic issue, end_tile, end_group, end_mv, end_fill, rel_now, rel_bub;

  assign gr = g == n_groups - 32'd1 ? gr_last : P;
  assign nsteps = t == n_ct - 32'd1 ? steps_last : STEPS_FULL;
  assign issue = run && !issued_all && half_full[rh] && bubble == 32'd0;
  logic zs_last;  // zero skipping: no nonzero weight of the tile is left after this step
  assign end_tile = ZERO_SKIP != 0 ? zs_last : s == nsteps - 32'd1;
  assign end_group = end_tile && t == n_ct - 32'd1;
  assign end_mv = end_group && g == n_groups - 32'd1;
  assign end_fill = end_tile && (ft == TILES_PER_FILL - 1 || end_mv);
  assign ntr = gr << LOG_L;
  // the code offset's arithmetic on the few bits it needs (a step's codes plus a byte's;
  // a tile's codes with zero skipping), so that / and % by 5 (5-trit) stay small
  localparam int TW = $clog2(P * LANES + TPB) + 1;
  localparam int ZW = $clog2(P * TILE_COLS + TPB) + 1;
  localparam logic [31:0] TPB32 = TPB;
  localparam logic [TW-1:0] TPB_T = TPB32[TW-1:0];
  localparam logic [ZW-1:0] TPB_Z = TPB32[ZW-1:0];
  logic [TW-1:0] tot_w, adv_w, off_w;
  logic [ZW-1:0] tile_codes, tile_bytes;
  assign tot_w = ro[TW-1:0] + ntr[TW-1:0];
  assign adv_w = tot_w / TPB_T;
  assign off_w = tot_w % TPB_T;
  assign tile_codes = gr[ZW-1:0] * (nsteps[ZW-1:0] << LOG_L);
  assign tile_bytes = (tile_codes + TPB_Z - 1) / TPB_Z;
  always_comb begin
    rb_n = rb + {{(32 - TW) {1'b0}}, adv_w};
    ro_n = {{(32 - TW) {1'b0}}, off_w};
    if (ZERO_SKIP != 0) begin  // the tile was read whole: past its bytes at its end
      rb_n = end_tile ? rb + {{(32 - ZW) {1'b0}}, tile_bytes} : rb;
      ro_n = 32'd0;
    end
    if (end_tile && ro_n != 32'd0) begin
      rb_n = rb_n + 32'd1;
      ro_n = 32'd0;
    end
    if (end_fill) begin
      rb_n = 32'd0;
      ro_n = 32'd0;
    end
  end
  assign rel_now = issue && end_fill && !(end_group && HANDOFF_BUBBLE > 0);
  assign rel_bub = pend_rel && bubble == 32'd1;
  assign rel_en = rel_now || rel_bub;
  assign rel_half = rel_now ? rh : pend_half;
  assign rd_half = rh;
  assign rd_byte = rb;
  assign steps_done = issued_all && bubble == 32'd0;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      rh <= 1'b0;
      bubble <= 32'd0;
      pend_rel <= 1'b0;
      pend_half <= 1'b0;
      issued_all <= 1'b1;
      g <= 32'd0;
      t <= 32'd0;
      s <= 32'd0;
      ft <= 32'd0;
      rb <= 32'd0;
      ro <= 32'd0;
    end else if (start) begin
      issued_all <= 1'b0;
      g <= 32'd0;
      t <= 32'd0;
      s <= 32'd0;
    end else begin
      if (issue) begin
        rb <= rb_n;
        ro <= ro_n;
        if (end_tile) begin
          s <= 32'd0;
          if (end_group) begin
            t <= 32'd0;
            g <= g + 32'd1;
          end else begin
            t <= t + 32'd1;
          end
          ft <= end_fill ? 32'd0 : ft + 32'd1;
        end else begin
          s <= s + 32'd1;
        end
        if (end_fill) rh <= !rh;
        if (end_mv) issued_all <= 1'b1;
        if (end_group && HANDOFF_BUBBLE > 0) bubble <= HANDOFF_BUBBLE;
        if (end_fill && end_group && HANDOFF_BUBBLE > 0) begin
          pend_rel <= 1'b1;
          pend_half <= rh;
        end
      end else if (bubble != 32'd0) begin
        bubble <= bubble - 32'd1;
      end
      if (rel_bub) pend_rel <= 1'b0;
    end
  end

  // ---------------------------------------------------------------- decode
  // 5-trit decode as a 256-entry table built at elaboration (byte = sum of (w_k + 1) 3^k):
  // a ROM of 8 inputs per output bit, not a chain of dividers
  // (entries padded to 16 bits, so that the byte selects one by wiring, not a product)
  function automatic logic [4095:0] dec5_table();
    logic [4095:0] tab;
    int v, m;
    tab = '0;
    for (int b = 0; b < 256; b++) begin
      v = b;
      for (int k = 0; k < 5; k++) begin
        m = v % 3;
        tab[b*16+2*k+:2] = m == 0 ? 2'b11 : (m == 2 ? 2'b01 : 2'b00);
        v = v / 3;
      end
    end
    dec5_table = tab;
  endfunction
  localparam logic [4095:0] DEC5 = dec5_table();

  function automatic logic [9:0] dec5(input logic [7:0] b);
    dec5 = DEC5[{b, 4'b0000}+:10];
  endfunction

  logic [2*NCODES-1:0] all_codes, aligned;
  logic [2*P*LANES-1:0] codes_c;
  logic [LANES*ACT_BITS-1:0] acts_c;
  logic [31:0] col0;
  generate
    for (genvar i = 0; i < WIN_BYTES; i++) begin : g_byte
      if (FIVE_TRIT) begin : g_5trit
        assign all_codes[i*10+:10] = dec5(rd_window[i*8+:8]);
      end else begin : g_2bit
        assign all_codes[i*8+:8] = rd_window[i*8+:8];
      end
    end
  endgenerate
  assign aligned = all_codes >> {ro[30:0], 1'b0};
  always_comb begin
    for (int r = 0; r < P; r++) begin
      if (r < gr) codes_c[r*2*LANES+:2*LANES] = aligned[r*2*LANES+:2*LANES];
      else codes_c[r*2*LANES+:2*LANES] = '0;
    end
  end
  assign col0 = (t << LOG_TC) + (s << LOG_L);
  assign acts_c = acts[col0*ACT_BITS+:LANES*ACT_BITS];

  // ---------------------------------------------------------------- zero skipping
  // A = P rows of activations into the trees with zero skipping (each row its own), else 1.
  localparam int AR = ZERO_SKIP != 0 ? P : 1;
  logic [2*P*LANES-1:0] codes_in;
  logic [AR*LANES*ACT_BITS-1:0] acts_in;
  generate
    if (ZERO_SKIP != 0) begin : g_zs
      localparam int TC = TILE_COLS;
      logic [2*P*TC-1:0] tile_src, cur, nxt, held;
      logic [2*P*LANES-1:0] zs_codes;
      logic [P*LANES*ACT_BITS-1:0] zs_acts;
      logic [31:0] width, colt;
      logic left;
      assign width = nsteps << LOG_L;
      assign colt = t << LOG_TC;
      // the tile's codes by (row, column), from the step-ordered bytes of its first step
      always_comb begin
        for (int r = 0; r < P; r++) begin
          for (int c = 0; c < TC; c++) begin
            if (r < gr && c < width)
              tile_src[(r*TC+c)*2+:2] = all_codes[((((c>>LOG_L)*gr+r)<<LOG_L)+(c&(LANES-1)))*2+:2];
            else tile_src[(r*TC+c)*2+:2] = 2'b00;
          end
        end
      end
      assign cur = s == 32'd0 ? tile_src : held;
      // every row: its next LANES nonzero weights, lowest columns first
      always_comb begin
        int n;
        nxt = cur;
        zs_codes = '0;
        zs_acts = '0;
        left = 1'b0;
        for (int r = 0; r < P; r++) begin
          n = 0;
          for (int c = 0; c < TC; c++) begin
            if (cur[(r*TC+c)*2+:2] != 2'b00) begin
              if (n < LANES) begin
                zs_codes[(r*LANES+n)*2+:2] = cur[(r*TC+c)*2+:2];
                zs_acts[(r*LANES+n)*ACT_BITS+:ACT_BITS] = acts[(colt+c)*ACT_BITS+:ACT_BITS];
                nxt[(r*TC+c)*2+:2] = 2'b00;
              end else begin
                left = 1'b1;
              end
              n = n + 1;
            end
          end
        end
      end
      always_ff @(posedge clk) begin
        if (issue) held <= nxt;
      end
      assign zs_last = !left;
      assign codes_in = zs_codes;
      assign acts_in = zs_acts;
      // verilator lint_off UNUSEDSIGNAL
      logic unused_dense;
      assign unused_dense = ^{codes_c, acts_c};
      // verilator lint_on UNUSEDSIGNAL
    end else begin : g_dense
      assign zs_last = 1'b0;
      assign codes_in = codes_c;
      assign acts_in = acts_c;
    end
  endgenerate

  // ---------------------------------------------------------------- pipeline
  logic [2*P*LANES-1:0] codes_p;
  logic [AR*LANES*ACT_BITS-1:0] acts_p;
  // {last, valid} of the step in each stage, stage FILL in the top bits
  logic [2*FILL-1:0] ctl;
  generate
    if (FILL > 1) begin : g_ctl
      always_ff @(posedge clk) begin
        if (!rst_n) ctl <= '0;
        else ctl <= {ctl[2*FILL-3:0], end_group, issue};
      end
    end else begin : g_ctl1
      always_ff @(posedge clk) begin
        if (!rst_n) ctl <= '0;
        else ctl <= {end_group, issue};
      end
    end
  endgenerate

  generate
    if (PIPELINE_STAGES > 0) begin : g_stages
      logic [2*P*LANES-1:0] cs[PIPELINE_STAGES];
      logic [AR*LANES*ACT_BITS-1:0] as[PIPELINE_STAGES];
      always_ff @(posedge clk) begin
        cs[0] <= codes_in;
        as[0] <= acts_in;
        for (int k = 1; k < PIPELINE_STAGES; k++) begin
          cs[k] <= cs[k-1];
          as[k] <= as[k-1];
        end
      end
      assign codes_p = cs[PIPELINE_STAGES-1];
      assign acts_p = as[PIPELINE_STAGES-1];
    end else begin : g_nostages
      assign codes_p = codes_in;
      assign acts_p = acts_in;
    end
  endgenerate

  // ---------------------------------------------------------------- trees and reducers
  logic out_valid, out_last;
  logic [ACC_BITS-1:0] folded[P];
  assign out_valid = ctl[2*FILL-2];
  assign out_last = ctl[2*FILL-1];

  generate
    for (genvar r = 0; r < P; r++) begin : g_row
      logic [ACC_BITS-1:0] sum;
      tmac_adder_tree #(
          .LANES(LANES),
          .ACT_BITS(ACT_BITS),
          .ACC_BITS(ACC_BITS),
          .SATURATE(SATURATE),
          .DEPTH(TREE_DEPTH)
      ) tree (
          .clk(clk),
          .codes(codes_p[r*2*LANES+:2*LANES]),
          .acts(acts_p[(ZERO_SKIP != 0 ? r : 0)*LANES*ACT_BITS+:LANES*ACT_BITS]),
          .sum(sum)
      );
      tmac_reducer #(
          .ACC_BITS(ACC_BITS),
          .SATURATE(SATURATE),
          .LEVELS(LEVELS)
      ) red (
          .clk(clk),
          .rst_n(rst_n),
          .in_valid(out_valid),
          .in_last(out_last),
          .in_value(sum),
          .out_value(folded[r])
      );
    end
  endgenerate

  // ---------------------------------------------------------------- result store
  logic [31:0] gout;
  always_ff @(posedge clk) begin
    if (!rst_n || start) begin
      gout <= 32'd0;
      for (int r = 0; r < MAX_ROWS; r++) results[r*ACC_BITS+:ACC_BITS] <= '0;
    end else if (out_valid && out_last) begin
      gout <= gout + 32'd1;
      for (int r = 0; r < P; r++) begin
        if (gout * P + r < MAX_ROWS) results[(gout*P+r)*ACC_BITS+:ACC_BITS] <= folded[r];
      end
    end
  end

  // verilator lint_off UNUSEDSIGNAL
  logic unused;
  assign unused = ^{aligned, ro[31], ntr, gr, nsteps};
  // verilator lint_on UNUSEDSIGNAL
endmodule
