// tmac_weight_stream: the weight DMA. It reads the packed weight stream from memory, one
// beat per request, and writes it into the two halves of the weight buffer, one buffer
// fill at a time; each fill's size in beats comes from a descriptor.
//
// FIFO_BEATS = 0: no stream FIFO. A fill's beats are requested only once its half is free
// (the fill two before it released by the array), at most one request every
// BEAT_INTERVAL cycles, and written into the buffer as they arrive.
// FIFO_BEATS > 0: requests run ahead of the buffer into a FIFO of that many beats
// (credit-based: requests in flight plus stored beats never exceed its depth); the buffer
// takes at most one beat every BEAT_INTERVAL cycles from it, into a free half.
// MAX_OUTSTANDING > 0 also caps the requests in flight (0: no cap).
// Memory answers every request, in order, with no back-pressure (mem_rsp has no ready).
module tmac_weight_stream #(
    parameter int BEAT_BITS = 8,
    parameter int FIFO_BEATS = 0,
    parameter int BEAT_INTERVAL = 1,
    parameter int MAX_OUTSTANDING = 0,
    parameter int ADDR_BITS = 32,
    parameter int DESC_BITS = 16
) (
    input  logic                 clk,
    input  logic                 rst_n,
    // fill descriptors: beats of the next buffer fill
    input  logic                 desc_valid,
    output logic                 desc_ready,
    input  logic [DESC_BITS-1:0] desc_beats,
    // memory reads (beat addresses)
    output logic                 mem_req_valid,
    input  logic                 mem_req_ready,
    output logic [ADDR_BITS-1:0] mem_req_addr,
    input  logic                 mem_rsp_valid,
    input  logic [BEAT_BITS-1:0] mem_rsp_data,
    // buffer writes
    output logic                 wr_en,
    output logic                 wr_half,
    output logic [31:0]          wr_beat,
    output logic [BEAT_BITS-1:0] wr_data,
    // halves full (written, not yet released) and the array's releases
    output logic [1:0]           half_full,
    input  logic                 rel_en,
    input  logic                 rel_half
);
  localparam bit HAS_FIFO = FIFO_BEATS > 0;
  // The writer's queue of fill sizes: the requests may run ahead by a FIFO's worth of fills.
  localparam int QDEPTH = FIFO_BEATS + 3;
  localparam int PACE = BEAT_INTERVAL - 1;

  // ---------------------------------------------------------------- request side
  logic [31:0] rleft, rfills, rel_cnt, outstanding, req_wait, raddr;
  logic [31:0] cur_left, cur_fill, stored;
  logic q_in_ready, q_out_valid;
  logic [DESC_BITS-1:0] q_head;
  logic gate, os_ok, pace_ok, req, take_desc, rsp;
  logic src_valid, wr_go, fill_done;
  logic [BEAT_BITS-1:0] src_data;
  logic [31:0] wfills, wbeat, wr_wait, q_count;

  assign cur_left = rleft != 32'd0 ? rleft : (desc_valid && q_in_ready ? {{(32 - DESC_BITS) {1'b0}}, desc_beats} : 32'd0);
  assign cur_fill = rleft != 32'd0 ? rfills - 32'd1 : rfills;
  assign os_ok = MAX_OUTSTANDING == 0 || outstanding < MAX_OUTSTANDING;
  assign pace_ok = HAS_FIFO || req_wait == 32'd0;
  assign gate = HAS_FIFO ? (outstanding + stored < FIFO_BEATS) : (cur_fill - rel_cnt < 32'd2);
  assign mem_req_valid = cur_left != 32'd0 && gate && os_ok && pace_ok;
  assign req = mem_req_valid && mem_req_ready;
  assign take_desc = req && rleft == 32'd0;
  assign desc_ready = take_desc;
  assign mem_req_addr = raddr[ADDR_BITS-1:0];
  assign rsp = mem_rsp_valid;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      rleft <= 32'd0;
      rfills <= 32'd0;
      outstanding <= 32'd0;
      req_wait <= 32'd0;
      raddr <= 32'd0;
    end else begin
      if (req) begin
        rleft <= cur_left - 32'd1;
        raddr <= raddr + 32'd1;
        req_wait <= PACE;
      end else if (req_wait != 32'd0) begin
        req_wait <= req_wait - 32'd1;
      end
      if (take_desc) rfills <= rfills + 32'd1;
      if (req && !rsp) outstanding <= outstanding + 32'd1;
      else if (rsp && !req) outstanding <= outstanding - 32'd1;
    end
  end

  tmac_fifo #(
      .WIDTH(DESC_BITS),
      .DEPTH(QDEPTH)
  ) fills_q (
      .clk(clk),
      .rst_n(rst_n),
      .in_valid(take_desc),
      .in_ready(q_in_ready),
      .in_data(desc_beats),
      .out_valid(q_out_valid),
      .out_ready(fill_done),
      .out_data(q_head),
      .count(q_count)
  );

  // ---------------------------------------------------------------- beats in

  generate
    if (HAS_FIFO) begin : g_fifo
      logic fifo_in_ready;
      tmac_fifo #(
          .WIDTH(BEAT_BITS),
          .DEPTH(FIFO_BEATS)
      ) beats_q (
          .clk(clk),
          .rst_n(rst_n),
          .in_valid(mem_rsp_valid),
          .in_ready(fifo_in_ready),
          .in_data(mem_rsp_data),
          .out_valid(src_valid),
          .out_ready(wr_go),
          .out_data(src_data),
          .count(stored)
      );
      // verilator lint_off UNUSEDSIGNAL
      logic unused_ready;
      assign unused_ready = fifo_in_ready;  // credits guarantee room
      // verilator lint_on UNUSEDSIGNAL
    end else begin : g_direct
      assign src_valid = mem_rsp_valid;
      assign src_data = mem_rsp_data;
      assign stored = 32'd0;
    end
  endgenerate

  // The writer takes a beat when its fill's half is free; without a FIFO that is always so
  // (the request was gated on it), and the beat must be taken.
  assign wr_go = src_valid && q_out_valid && (wfills - rel_cnt < 32'd2)
      && (!HAS_FIFO || wr_wait == 32'd0);
  assign fill_done = wr_go && (wbeat + 32'd1 == {{(32 - DESC_BITS) {1'b0}}, q_head});
  assign wr_en = wr_go;
  assign wr_half = wfills[0];
  assign wr_beat = wbeat;
  assign wr_data = src_data;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      wfills <= 32'd0;
      wbeat <= 32'd0;
      wr_wait <= 32'd0;
      rel_cnt <= 32'd0;
      half_full <= 2'b00;
    end else begin
      if (wr_go) begin
        wr_wait <= PACE;
        if (fill_done) begin
          wbeat <= 32'd0;
          wfills <= wfills + 32'd1;
          half_full[wfills[0]] <= 1'b1;
        end else begin
          wbeat <= wbeat + 32'd1;
        end
      end else if (wr_wait != 32'd0) begin
        wr_wait <= wr_wait - 32'd1;
      end
      if (rel_en) begin
        half_full[rel_half] <= 1'b0;
        rel_cnt <= rel_cnt + 32'd1;
      end
    end
  end

  // verilator lint_off UNUSEDSIGNAL
  logic unused_q;
  assign unused_q = ^q_count;
  // verilator lint_on UNUSEDSIGNAL

`ifndef SYNTHESIS
  // A beat the writer cannot take is lost: a design error, never a timing effect.
  always @(posedge clk) begin
    if (rst_n && !HAS_FIFO && mem_rsp_valid && !wr_go) begin
      $display("TMAC_ERROR weight beat arrived with no free half");
      $finish;
    end
  end
`endif
endmodule
