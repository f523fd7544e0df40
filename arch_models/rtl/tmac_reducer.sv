// tmac_reducer: completes a row's adder tree across the steps of its row group.
//
// Each step brings the sum of LANES consecutive columns: a node of the balanced binary tree
// over all the row's columns (padded with zeros to a power of two), as
// workloads.matvec.adder_tree builds it. A stack of partial sums, one per tree level,
// combines them in exactly that tree's order (like a binary counter's carries); on the
// group's last step the remaining partials are folded from the lowest level up (their
// missing siblings are zero), giving the root. Every node is fitted as in the tree, so a
// saturating accumulator gives the functional model's result bit for bit.
module tmac_reducer #(
    parameter int ACC_BITS = 24,
    parameter bit SATURATE = 1'b0,
    parameter int LEVELS = 8
) (
    input  logic                clk,
    input  logic                rst_n,
    input  logic                in_valid,
    input  logic                in_last,
    input  logic [ACC_BITS-1:0] in_value,
    output logic [ACC_BITS-1:0] out_value
);
  function automatic logic [ACC_BITS-1:0] add_fit(input logic [ACC_BITS-1:0] a,
                                                  input logic [ACC_BITS-1:0] b);
    logic [ACC_BITS:0] s;
    s = {a[ACC_BITS-1], a} + {b[ACC_BITS-1], b};
    if (SATURATE && (s[ACC_BITS] != s[ACC_BITS-1]))
      add_fit = s[ACC_BITS] ? {1'b1, {(ACC_BITS - 1) {1'b0}}} : {1'b0, {(ACC_BITS - 1) {1'b1}}};
    else add_fit = s[ACC_BITS-1:0];
  endfunction

  logic [ACC_BITS-1:0] stk[LEVELS];
  logic [ACC_BITS-1:0] stk_n[LEVELS];
  logic [LEVELS-1:0] occ, occ_n;

  always_comb begin
    logic [ACC_BITS-1:0] carry;
    logic placed, have;
    carry = in_value;
    placed = 1'b0;
    occ_n = occ;
    for (int k = 0; k < LEVELS; k++) stk_n[k] = stk[k];
    for (int k = 0; k < LEVELS; k++) begin
      if (!placed) begin
        if (occ[k]) begin
          carry = add_fit(stk[k], carry);
          occ_n[k] = 1'b0;
        end else begin
          stk_n[k] = carry;
          occ_n[k] = 1'b1;
          placed = 1'b1;
        end
      end
    end
    out_value = '0;
    have = 1'b0;
    for (int k = 0; k < LEVELS; k++) begin
      if (occ_n[k]) begin
        out_value = have ? add_fit(stk_n[k], out_value) : stk_n[k];
        have = 1'b1;
      end
    end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      occ <= '0;
    end else if (in_valid) begin
      occ <= in_last ? '0 : occ_n;
      for (int k = 0; k < LEVELS; k++) stk[k] <= stk_n[k];
    end
  end
endmodule
