// tmac_tb: a self-checking test bench for tmac_core (simulation only).
//
// Reads, from the folder given by +dir=: weights.hex (the packed weight stream, one memory
// beat a line, byte 0 in the low bits), fills.txt (beats per buffer fill), ops.txt
// ("rows cols" per matvec), acts.hex (activation import beats of every matvec in turn)
// and, optionally, expect.hex (the export beats the functional model predicts).
// Memory: a request accepted in cycle c is answered in cycle s + K - 1, where the beat's
// transfer slot s = max(c + L, previous slot + K), and each slot is lost (s += K) with
// probability +stall_ppm= / 1e6 from a seeded xorshift32 (+latency=L, +interval=K,
// +seed=). Cycle 0 is the first after reset; the DMA and the first matvec start in it.
// Prints "TMAC_OP <i> <end cycle>" per matvec, "TMAC_EVENTS adds=<a> steps=<s>
// bubbles=<b> wbuf_bytes=<w> mem_beats=<m>" (what the energy model charges: weights that
// reached an adder, array steps, hand-off bubble cycles, weight-buffer bytes read, memory
// beats delivered; counted from the array's own signals) and "TMAC_DONE cycles=<n>
// beats=<b> mismatches=<m>", and writes every export beat to out.hex.
// The bench keeps its own bookkeeping in blocking assignments, deliberately.
// verilator lint_off BLKSEQ
module tmac_tb #(
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
    parameter int MAX_COLS = 512
);
  localparam int ADDR_BITS = 32;
  localparam int DESC_BITS = 16;
  localparam int SHAPE_BITS = 16;

  logic clk = 1'b0;
  always #5 clk = !clk;
  logic rst_n = 1'b0;

  logic cmd_valid = 1'b0, cmd_ready;
  logic [SHAPE_BITS-1:0] cmd_rows = '0, cmd_cols = '0;
  logic desc_valid = 1'b0, desc_ready;
  logic [DESC_BITS-1:0] desc_beats = '0;
  logic mem_req_valid, mem_req_ready = 1'b1;
  logic [ADDR_BITS-1:0] mem_req_addr;
  logic mem_rsp_valid = 1'b0;
  logic [BEAT_BITS-1:0] mem_rsp_data = '0;
  logic act_valid = 1'b0, act_ready;
  logic [ACT_PATH_BITS-1:0] act_data = '0;
  logic out_valid, out_ready = 1'b1, out_last, busy;
  logic [OUT_PATH_BITS-1:0] out_data;

  tmac_core #(
      .LANES(LANES),
      .ROWS_PARALLEL(ROWS_PARALLEL),
      .COUNT(COUNT),
      .TREE_DEPTH(TREE_DEPTH),
      .PIPELINE_STAGES(PIPELINE_STAGES),
      .WEIGHT_PACKING(WEIGHT_PACKING),
      .ACCUMULATOR_BITS(ACCUMULATOR_BITS),
      .ACCUMULATOR_OVERFLOW(ACCUMULATOR_OVERFLOW),
      .ACTIVATION_BITS(ACTIVATION_BITS),
      .TILE_COLS(TILE_COLS),
      .HANDOFF_BUBBLE_CYCLES(HANDOFF_BUBBLE_CYCLES),
      .START_LATENCY_CYCLES(START_LATENCY_CYCLES),
      .TILE_CAPACITY_BYTES(TILE_CAPACITY_BYTES),
      .BEAT_BITS(BEAT_BITS),
      .PATH_FIFO_BEATS(PATH_FIFO_BEATS),
      .PATH_BEAT_INTERVAL_CYCLES(PATH_BEAT_INTERVAL_CYCLES),
      .MAX_OUTSTANDING(MAX_OUTSTANDING),
      .ACT_PATH_BITS(ACT_PATH_BITS),
      .OUT_PATH_BITS(OUT_PATH_BITS),
      .OP_OVERHEAD_CYCLES(OP_OVERHEAD_CYCLES),
      .ISSUE_AHEAD(ISSUE_AHEAD),
      .ZERO_SKIP(ZERO_SKIP),
      .MAX_ROWS(MAX_ROWS),
      .MAX_COLS(MAX_COLS),
      .ADDR_BITS(ADDR_BITS),
      .DESC_BITS(DESC_BITS),
      .SHAPE_BITS(SHAPE_BITS)
  ) dut (
      .clk(clk),
      .rst_n(rst_n),
      .cmd_valid(cmd_valid),
      .cmd_ready(cmd_ready),
      .cmd_rows(cmd_rows),
      .cmd_cols(cmd_cols),
      .desc_valid(desc_valid),
      .desc_ready(desc_ready),
      .desc_beats(desc_beats),
      .mem_req_valid(mem_req_valid),
      .mem_req_ready(mem_req_ready),
      .mem_req_addr(mem_req_addr),
      .mem_rsp_valid(mem_rsp_valid),
      .mem_rsp_data(mem_rsp_data),
      .act_valid(act_valid),
      .act_ready(act_ready),
      .act_data(act_data),
      .out_valid(out_valid),
      .out_ready(out_ready),
      .out_data(out_data),
      .out_last(out_last),
      .busy(busy)
  );

  // ---------------------------------------------------------------- inputs
  logic [BEAT_BITS-1:0] wmem[$];
  logic [ACT_PATH_BITS-1:0] acts[$];
  logic [OUT_PATH_BITS-1:0] expect_q[$];
  int fills[$];
  int op_rows[$];
  int op_cols[$];
  string dir;
  longint latency = 1, interval = 1;
  int stall_ppm = 0, seed = 1, max_cycles = 100000000;
  int fd_out;

  task automatic read_inputs();
    int fd, n, a, b;
    logic [BEAT_BITS-1:0] beat;
    logic [ACT_PATH_BITS-1:0] act;
    logic [OUT_PATH_BITS-1:0] ex;
    fd = $fopen({dir, "/weights.hex"}, "r");
    if (fd == 0) $fatal(1, "TMAC_ERROR cannot open %s/weights.hex", dir);
    while ($fscanf(fd, "%h", beat) == 1) wmem.push_back(beat);
    $fclose(fd);
    fd = $fopen({dir, "/fills.txt"}, "r");
    if (fd == 0) $fatal(1, "TMAC_ERROR cannot open %s/fills.txt", dir);
    while ($fscanf(fd, "%d", n) == 1) fills.push_back(n);
    $fclose(fd);
    fd = $fopen({dir, "/ops.txt"}, "r");
    if (fd == 0) $fatal(1, "TMAC_ERROR cannot open %s/ops.txt", dir);
    while ($fscanf(fd, "%d %d", a, b) == 2) begin
      op_rows.push_back(a);
      op_cols.push_back(b);
    end
    $fclose(fd);
    fd = $fopen({dir, "/acts.hex"}, "r");
    if (fd == 0) $fatal(1, "TMAC_ERROR cannot open %s/acts.hex", dir);
    while ($fscanf(fd, "%h", act) == 1) acts.push_back(act);
    $fclose(fd);
    fd = $fopen({dir, "/expect.hex"}, "r");
    if (fd != 0) begin
      while ($fscanf(fd, "%h", ex) == 1) expect_q.push_back(ex);
      $fclose(fd);
    end
  endtask

  initial begin
    if ($value$plusargs("dir=%s", dir) == 0) dir = ".";
    void'($value$plusargs("latency=%d", latency));
    void'($value$plusargs("interval=%d", interval));
    void'($value$plusargs("stall_ppm=%d", stall_ppm));
    void'($value$plusargs("seed=%d", seed));
    void'($value$plusargs("max_cycles=%d", max_cycles));
    if (latency < 1 || interval < 1) $fatal(1, "TMAC_ERROR latency and interval must be >= 1");
    read_inputs();
    fd_out = $fopen({dir, "/out.hex"}, "w");
  end

  // ---------------------------------------------------------------- the clocked bench
  int edges = 0, cyc = 0, fi = 0, ci = 0, ai = 0, oi = 0, ops_done = 0, mismatches = 0;
  longint ev_adds = 0, ev_steps = 0, ev_bubbles = 0, ev_wbuf = 0, ev_beats = 0;
  localparam int P = ROWS_PARALLEL * COUNT;
  // verilator lint_off WIDTH
  localparam int TPB = WEIGHT_PACKING == "5trit" ? 5 : 4;
  // verilator lint_on WIDTH

  // weights of the step issuing now that reach an adder (with zero skipping: the nonzeros)
  function automatic longint step_adds();
    longint n = 0;
    if (ZERO_SKIP == 0) return longint'(dut.array.gr) * longint'(LANES);
    for (int k = 0; k < P * LANES; k++) if (dut.array.codes_in[2*k+:2] != 2'b00) n = n + 1;
    return n;
  endfunction
  longint next_slot = 0;
  longint due_q[$];
  int addr_q[$];
  int unsigned rng = 32'h9e3779b9;

  function automatic bit stalled();
    rng = rng ^ (rng << 13);
    rng = rng ^ (rng >> 17);
    rng = rng ^ (rng << 5);
    stalled = (rng % 32'd1000000) < stall_ppm;
  endfunction

  always @(posedge clk) begin
    edges = edges + 1;
    if (edges == 3) begin
      rng = rng ^ seed;
      rst_n <= 1'b1;
      cyc = 0;
    end else if (edges > 3) begin
      // what happened in cycle `cyc`, which this edge ends
      if (mem_req_valid && mem_req_ready) begin
        longint s;
        s = longint'(cyc) + latency;
        if (next_slot > s) s = next_slot;
        while (stalled()) s = s + interval;
        due_q.push_back(s + interval - 1);
        addr_q.push_back(int'(mem_req_addr));
        next_slot = s + interval;
      end
      if (dut.array.issue) begin
        ev_steps = ev_steps + 1;
        ev_adds = ev_adds + step_adds();
        if (dut.array.end_tile)
          ev_wbuf = ev_wbuf + (longint'(dut.array.gr) * longint'(dut.array.nsteps) * longint'(LANES)
                               + longint'(TPB) - 1) / longint'(TPB);
      end else if (dut.array.bubble != 32'd0) begin
        ev_bubbles = ev_bubbles + 1;
      end
      if (mem_rsp_valid) ev_beats = ev_beats + 1;
      if (mem_rsp_valid) begin
        void'(due_q.pop_front());
        void'(addr_q.pop_front());
      end
      if (desc_valid && desc_ready) fi = fi + 1;
      if (cmd_valid && cmd_ready) ci = ci + 1;
      if (act_valid && act_ready) ai = ai + 1;
      if (out_valid && out_ready) begin
        $fdisplay(fd_out, "%h", out_data);
        if (oi < expect_q.size() && out_data !== expect_q[oi]) begin
          if (mismatches < 10)
            $display("TMAC_MISMATCH beat %0d got %h expected %h", oi, out_data, expect_q[oi]);
          mismatches = mismatches + 1;
        end
        oi = oi + 1;
        if (out_last) begin
          $display("TMAC_OP %0d %0d", ops_done, cyc + 1);
          ops_done = ops_done + 1;
          if (ops_done == op_rows.size()) begin
            if (expect_q.size() != 0 && oi != expect_q.size()) mismatches = mismatches + 1;
            $display("TMAC_EVENTS adds=%0d steps=%0d bubbles=%0d wbuf_bytes=%0d mem_beats=%0d",
                     ev_adds, ev_steps, ev_bubbles, ev_wbuf, ev_beats);
            $display("TMAC_DONE cycles=%0d beats=%0d mismatches=%0d", cyc + 1, oi, mismatches);
            $fclose(fd_out);
            $finish;
          end
        end
      end
      cyc = cyc + 1;
      if (cyc > max_cycles) begin
        $display("TMAC_TIMEOUT cycles=%0d ops_done=%0d", cyc, ops_done);
        $finish;
      end
    end
    // inputs for the cycle this edge begins
    if (edges >= 3) begin
      cmd_valid <= ci < op_rows.size();
      if (ci < op_rows.size()) begin
        cmd_rows <= op_rows[ci][SHAPE_BITS-1:0];
        cmd_cols <= op_cols[ci][SHAPE_BITS-1:0];
      end
      desc_valid <= fi < fills.size();
      if (fi < fills.size()) desc_beats <= fills[fi][DESC_BITS-1:0];
      act_valid <= ai < acts.size();
      if (ai < acts.size()) act_data <= acts[ai];
      if (due_q.size() != 0 && due_q[0] == longint'(cyc)) begin
        mem_rsp_valid <= 1'b1;
        mem_rsp_data <= addr_q[0] < wmem.size() ? wmem[addr_q[0]] : '0;
      end else begin
        mem_rsp_valid <= 1'b0;
      end
    end
  end

  // verilator lint_off UNUSEDSIGNAL
  logic unused;
  assign unused = busy;
  // verilator lint_on UNUSEDSIGNAL
endmodule
