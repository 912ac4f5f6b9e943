// Every hostcall of proxy-wasm ABI v0.2.1, with the spec's exact wasm signatures
// (pointers and sizes are i32; proxy_record_metric / proxy_increment_metric take an i64).
// Hostcalls nobody calls are dropped by asc, so declaring them all costs nothing.
// Return values are proxy_status_t (see types.ts WasmResult); WASI functions return wasi_errno_t.

// --- Context lifecycle ------------------------------------------------------------------------
// @ts-ignore: decorator
@external("env", "proxy_done")
export declare function proxy_done(): u32;
// @ts-ignore: decorator
@external("env", "proxy_set_effective_context")
export declare function proxy_set_effective_context(context_id: u32): u32;

// --- Logging ------------------------------------------------------------------------------------
// @ts-ignore: decorator
@external("env", "proxy_log")
export declare function proxy_log(log_level: u32, message_data: usize, message_size: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_get_log_level")
export declare function proxy_get_log_level(return_log_level: usize): u32;

// --- Clocks and timers --------------------------------------------------------------------------
// @ts-ignore: decorator
@external("env", "proxy_get_current_time_nanoseconds")
export declare function proxy_get_current_time_nanoseconds(return_time: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_set_tick_period_milliseconds")
export declare function proxy_set_tick_period_milliseconds(tick_period: u32): u32;

// --- Buffers ------------------------------------------------------------------------------------
// @ts-ignore: decorator
@external("env", "proxy_get_buffer_bytes")
export declare function proxy_get_buffer_bytes(
  buffer_id: u32, start: usize, max_size: usize, return_value_data: usize, return_value_size: usize,
): u32;
// @ts-ignore: decorator
@external("env", "proxy_set_buffer_bytes")
export declare function proxy_set_buffer_bytes(
  buffer_id: u32, start: usize, size: usize, value_data: usize, value_size: usize,
): u32;
// @ts-ignore: decorator
@external("env", "proxy_get_buffer_status")
export declare function proxy_get_buffer_status(buffer_id: u32, return_buffer_size: usize, return_ignored: usize): u32;

// --- HTTP fields (header maps) --------------------------------------------------------------------
// @ts-ignore: decorator
@external("env", "proxy_get_header_map_size")
export declare function proxy_get_header_map_size(map_id: u32, return_serialized_pairs_size: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_get_header_map_pairs")
export declare function proxy_get_header_map_pairs(
  map_id: u32, return_serialized_pairs_data: usize, return_serialized_pairs_size: usize,
): u32;
// @ts-ignore: decorator
@external("env", "proxy_set_header_map_pairs")
export declare function proxy_set_header_map_pairs(map_id: u32, serialized_pairs_data: usize, serialized_pairs_size: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_get_header_map_value")
export declare function proxy_get_header_map_value(
  map_id: u32, key_data: usize, key_size: usize, return_value_data: usize, return_value_size: usize,
): u32;
// @ts-ignore: decorator
@external("env", "proxy_add_header_map_value")
export declare function proxy_add_header_map_value(
  map_id: u32, key_data: usize, key_size: usize, value_data: usize, value_size: usize,
): u32;
// @ts-ignore: decorator
@external("env", "proxy_replace_header_map_value")
export declare function proxy_replace_header_map_value(
  map_id: u32, key_data: usize, key_size: usize, value_data: usize, value_size: usize,
): u32;
// @ts-ignore: decorator
@external("env", "proxy_remove_header_map_value")
export declare function proxy_remove_header_map_value(map_id: u32, key_data: usize, key_size: usize): u32;

// --- Stream control -----------------------------------------------------------------------------
// @ts-ignore: decorator
@external("env", "proxy_continue_stream")
export declare function proxy_continue_stream(stream_type: u32): u32;
// @ts-ignore: decorator
@external("env", "proxy_close_stream")
export declare function proxy_close_stream(stream_type: u32): u32;
// @ts-ignore: decorator
@external("env", "proxy_get_status")
export declare function proxy_get_status(
  return_status_code: usize, return_status_message_data: usize, return_status_message_size: usize,
): u32;
// @ts-ignore: decorator
@external("env", "proxy_send_local_response")
export declare function proxy_send_local_response(
  status_code: u32,
  status_code_details_data: usize, status_code_details_size: usize,
  body_data: usize, body_size: usize,
  serialized_headers_data: usize, serialized_headers_size: usize,
  grpc_status: u32,
): u32;

// --- HTTP calls ---------------------------------------------------------------------------------
// @ts-ignore: decorator
@external("env", "proxy_http_call")
export declare function proxy_http_call(
  upstream_name_data: usize, upstream_name_size: usize,
  serialized_headers_data: usize, serialized_headers_size: usize,
  body_data: usize, body_size: usize,
  serialized_trailers_data: usize, serialized_trailers_size: usize,
  timeout: u32, return_call_id: usize,
): u32;

// --- gRPC calls ---------------------------------------------------------------------------------
// @ts-ignore: decorator
@external("env", "proxy_grpc_call")
export declare function proxy_grpc_call(
  upstream_name_data: usize, upstream_name_size: usize,
  service_name_data: usize, service_name_size: usize,
  method_name_data: usize, method_name_size: usize,
  serialized_initial_metadata_data: usize, serialized_initial_metadata_size: usize,
  message_data: usize, message_size: usize,
  timeout: u32, return_call_id: usize,
): u32;
// @ts-ignore: decorator
@external("env", "proxy_grpc_stream")
export declare function proxy_grpc_stream(
  upstream_name_data: usize, upstream_name_size: usize,
  service_name_data: usize, service_name_size: usize,
  method_name_data: usize, method_name_size: usize,
  serialized_initial_metadata_data: usize, serialized_initial_metadata_size: usize,
  return_stream_id: usize,
): u32;
// @ts-ignore: decorator
@external("env", "proxy_grpc_send")
export declare function proxy_grpc_send(stream_id: u32, message_data: usize, message_size: usize, end_stream: u32): u32;
// @ts-ignore: decorator
@external("env", "proxy_grpc_cancel")
export declare function proxy_grpc_cancel(call_or_stream_id: u32): u32;
// @ts-ignore: decorator
@external("env", "proxy_grpc_close")
export declare function proxy_grpc_close(call_or_stream_id: u32): u32;

// --- Shared key-value store ---------------------------------------------------------------------
// @ts-ignore: decorator
@external("env", "proxy_get_shared_data")
export declare function proxy_get_shared_data(
  key_data: usize, key_size: usize, return_value_data: usize, return_value_size: usize, return_cas: usize,
): u32;
// @ts-ignore: decorator
@external("env", "proxy_set_shared_data")
export declare function proxy_set_shared_data(key_data: usize, key_size: usize, value_data: usize, value_size: usize, cas: u32): u32;

// --- Shared queues ------------------------------------------------------------------------------
// @ts-ignore: decorator
@external("env", "proxy_register_shared_queue")
export declare function proxy_register_shared_queue(name_data: usize, name_size: usize, return_queue_id: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_resolve_shared_queue")
export declare function proxy_resolve_shared_queue(
  vm_id_data: usize, vm_id_size: usize, name_data: usize, name_size: usize, return_queue_id: usize,
): u32;
// @ts-ignore: decorator
@external("env", "proxy_enqueue_shared_queue")
export declare function proxy_enqueue_shared_queue(queue_id: u32, value_data: usize, value_size: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_dequeue_shared_queue")
export declare function proxy_dequeue_shared_queue(queue_id: u32, return_value_data: usize, return_value_size: usize): u32;

// --- Metrics ------------------------------------------------------------------------------------
// @ts-ignore: decorator
@external("env", "proxy_define_metric")
export declare function proxy_define_metric(metric_type: u32, name_data: usize, name_size: usize, return_metric_id: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_record_metric")
export declare function proxy_record_metric(metric_id: u32, value: u64): u32;
// @ts-ignore: decorator
@external("env", "proxy_increment_metric")
export declare function proxy_increment_metric(metric_id: u32, delta: i64): u32;
// @ts-ignore: decorator
@external("env", "proxy_get_metric")
export declare function proxy_get_metric(metric_id: u32, return_value: usize): u32;

// --- Properties ---------------------------------------------------------------------------------
// @ts-ignore: decorator
@external("env", "proxy_get_property")
export declare function proxy_get_property(path_data: usize, path_size: usize, return_value_data: usize, return_value_size: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_set_property")
export declare function proxy_set_property(path_data: usize, path_size: usize, value_data: usize, value_size: usize): u32;

// --- Foreign functions --------------------------------------------------------------------------
// @ts-ignore: decorator
@external("env", "proxy_call_foreign_function")
export declare function proxy_call_foreign_function(
  name_data: usize, name_size: usize, arguments_data: usize, arguments_size: usize,
  return_results_data: usize, return_results_size: usize,
): u32;

// --- WASI (the subset the spec lets a host provide) ------------------------------------------------
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "fd_write")
export declare function wasi_fd_write(fd: u32, iovec: usize, iovec_size: usize, return_written_bytes: usize): u32;
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "clock_time_get")
export declare function wasi_clock_time_get(clock_id: u32, precision: u64, return_time: usize): u32;
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "random_get")
export declare function wasi_random_get(buffer: usize, buffer_size: usize): u32;
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "proc_exit")
export declare function wasi_proc_exit(exit_code: u32): void;
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "environ_get")
export declare function wasi_environ_get(return_array: usize, return_buffer: usize): u32;
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "environ_sizes_get")
export declare function wasi_environ_sizes_get(return_num_elements: usize, return_buffer_size: usize): u32;
