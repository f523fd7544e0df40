// tmac_adder_tree: one ternary adder tree. Each of LANES activations is added, subtracted
// or skipped as its 2-bit weight code says (00 = 0, 01 = +1, 11 = -1); the terms are summed
// pairwise (lanes 0+1, 2+3, ...) in a balanced binary tree, one register per level, and
// every leaf and node is fitted to ACC_BITS: wrapped (two's complement) or, with
// SATURATE, clamped. That is workloads.matvec.adder_tree on LANES columns. DEPTH >=
// log2(LANES) registers in all (DEPTH >= 1): levels beyond the tree's delay the sum.
module tmac_adder_tree #(
    parameter int LANES = 4,
    parameter int ACT_BITS = 8,
    parameter int ACC_BITS = 24,
    parameter bit SATURATE = 1'b0,
    parameter int DEPTH = 2
) (
    input  logic                       clk,
    input  logic [2*LANES-1:0]         codes,
    input  logic [LANES*ACT_BITS-1:0]  acts,
    output logic [ACC_BITS-1:0]        sum
);
  localparam int LEVELS = $clog2(LANES);
  localparam int EXTRA = DEPTH - LEVELS;
  // working width: holds a negated activation and the sum of two accumulator values
  localparam int LW = (ACT_BITS + 1 > ACC_BITS + 1) ? ACT_BITS + 1 : ACC_BITS + 1;

  function automatic logic [ACC_BITS-1:0] fit(input logic [LW-1:0] v);
    logic [LW-ACC_BITS:0] hi;
    logic ovf;
    hi = v[LW-1:ACC_BITS-1];
    ovf = !((&hi) || !(|hi));
    if (SATURATE && ovf) fit = v[LW-1] ? {1'b1, {(ACC_BITS - 1) {1'b0}}} : {1'b0, {(ACC_BITS - 1) {1'b1}}};
    else fit = v[ACC_BITS-1:0];
  endfunction

  function automatic logic [LW-1:0] widen(input logic [ACC_BITS-1:0] a);
    widen = {{(LW - ACC_BITS) {a[ACC_BITS-1]}}, a};
  endfunction

  logic [ACC_BITS-1:0] leaf[LANES];
  logic [ACC_BITS-1:0] root;

  // Every node is held at ACC_BITS, but where its subtree's sum cannot reach the
  // accumulator's range (ACT_BITS + 1 + levels below it < ACC_BITS) it is added at that
  // width and sign-extended: fitting such a sum changes nothing, so the narrow adder
  // computes exactly what the wide one would (and Yosys merges the extension's registers).
  generate
    for (genvar j = 0; j < LANES; j++) begin : g_leaf
      logic [ACT_BITS-1:0] x;
      logic [1:0] c;
      assign x = acts[j*ACT_BITS+:ACT_BITS];
      assign c = codes[2*j+:2];
      if (ACT_BITS + 1 < ACC_BITS) begin : g_narrow
        logic [ACT_BITS:0] xn, t;
        assign xn = {x[ACT_BITS-1], x};
        assign t = c[1] ? -xn : xn;
        assign leaf[j] = !c[0] ? '0 : {{(ACC_BITS - ACT_BITS - 1) {t[ACT_BITS]}}, t};
      end else begin : g_wide
        logic [LW-1:0] xe;
        assign xe = {{(LW - ACT_BITS) {x[ACT_BITS-1]}}, x};
        assign leaf[j] = !c[0] ? '0 : fit(c[1] ? -xe : xe);
      end
    end

    if (LANES > 1) begin : g_tree
      // heap order: node i has children 2i and 2i+1; indices >= LANES are leaves
      logic [ACC_BITS-1:0] node[1:LANES-1];
      for (genvar i = 1; i < LANES; i++) begin : g_node
        logic [ACC_BITS-1:0] a, b;
        if (2 * i >= LANES) begin : g_leaves
          assign a = leaf[2*i-LANES];
          assign b = leaf[2*i+1-LANES];
        end else begin : g_nodes
          assign a = node[2*i];
          assign b = node[2*i+1];
        end
        // the node's depth in the tree and the width its subtree's sum needs
        localparam int D = $clog2(i + 1) - 1;
        localparam int WN = ACT_BITS + 1 + LEVELS - D;
        if (WN < ACC_BITS) begin : g_narrow
          logic [WN-1:0] sn;
          assign sn = {a[WN-2], a[WN-2:0]} + {b[WN-2], b[WN-2:0]};
          always_ff @(posedge clk) node[i] <= {{(ACC_BITS - WN) {sn[WN-1]}}, sn};
          // verilator lint_off UNUSEDSIGNAL
          logic unused_hi;
          assign unused_hi = ^{a[ACC_BITS-1:WN-1], b[ACC_BITS-1:WN-1]};
          // verilator lint_on UNUSEDSIGNAL
        end else begin : g_wide
          always_ff @(posedge clk) node[i] <= fit(widen(a) + widen(b));
        end
      end
      assign root = node[1];
    end else begin : g_single
      assign root = leaf[0];
    end

    if (EXTRA > 0) begin : g_delay
      logic [ACC_BITS-1:0] dly[EXTRA];
      always_ff @(posedge clk) begin
        dly[0] <= root;
        for (int k = 1; k < EXTRA; k++) dly[k] <= dly[k-1];
      end
      assign sum = dly[EXTRA-1];
    end else begin : g_nodelay
      assign sum = root;
    end
  endgenerate
endmodule
