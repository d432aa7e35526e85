%% Erlang distribution on proscenium-bench's remote workloads: the same
%% messages as Proscenium's `remote-tell` and `remote-ask`, between two
%% Erlang nodes in two OS processes on 127.0.0.1. Run by
%% bench/src/erlang.rs, which compiles this file with `erlc`, starts the
%% sink node and then the measuring node, and checks the RESULT line.
%%
%%   sink        registers `sink`, prints READY, serves until stdin closes.
%%   tell N Node tells `sink` on Node N 100-byte binaries, asks for the
%%               tally: RESULT <elapsed ns> <count> <byte sum>.
%%   ask N Node  N sequential asks {inc, I} -> I + 1, each checked and
%%               timed: RESULT <ns of ask 0> <ns of ask 1> ...
-module(bench_remote).
-export([sink/0, tell/1, ask/1]).

-define(PAYLOAD_LEN, 100).

sink() ->
    register(sink, spawn(fun() -> sink_loop(0, 0) end)),
    io:format("READY~n"),
    wait_for_eof(),
    halt(0).

wait_for_eof() ->
    case io:get_line("") of
        eof -> ok;
        {error, _} -> ok;
        _ -> wait_for_eof()
    end.

sink_loop(Count, Sum) ->
    receive
        {chunk, Bytes} ->
            sink_loop(Count + 1, Sum + byte_sum(Bytes, 0));
        {tally, From, Ref} ->
            From ! {Ref, Count, Sum},
            sink_loop(Count, Sum);
        {inc, From, Ref, N} ->
            From ! {Ref, N + 1},
            sink_loop(Count, Sum)
    end.

byte_sum(<<B, Rest/binary>>, Acc) -> byte_sum(Rest, Acc + B);
byte_sum(<<>>, Acc) -> Acc.

%% The sink on `Node`, once connected.
connect(Node) ->
    true = net_kernel:connect_node(Node),
    {sink, Node}.

%% Asks for the tally: {Count, ByteSum}.
tally(Sink) ->
    Ref = make_ref(),
    Sink ! {tally, self(), Ref},
    receive {Ref, Count, Sum} -> {Count, Sum} end.

%% Asks for N + 1.
inc(Sink, N) ->
    Ref = make_ref(),
    Sink ! {inc, self(), Ref, N},
    receive {Ref, Reply} -> Reply end.

tell([N, Node]) ->
    Count = list_to_integer(N),
    Sink = connect(list_to_atom(Node)),
    Start = erlang:monotonic_time(nanosecond),
    send_chunks(Sink, 0, Count),
    {Told, Sum} = tally(Sink),
    Elapsed = erlang:monotonic_time(nanosecond) - Start,
    io:format("RESULT ~b ~b ~b~n", [Elapsed, Told, Sum]),
    halt(0).

send_chunks(_, Count, Count) -> ok;
send_chunks(Sink, I, Count) ->
    Sink ! {chunk, binary:copy(<<(I rem 251)>>, ?PAYLOAD_LEN)},
    send_chunks(Sink, I + 1, Count).

ask([N, Node]) ->
    Count = list_to_integer(N),
    Sink = connect(list_to_atom(Node)),
    Latencies = [timed_inc(Sink, I) || I <- lists:seq(0, Count - 1)],
    io:format("RESULT ~s~n", [lists:join(" ", [integer_to_list(L) || L <- Latencies])]),
    halt(0).

timed_inc(Sink, I) ->
    Start = erlang:monotonic_time(nanosecond),
    Reply = inc(Sink, I),
    Elapsed = erlang:monotonic_time(nanosecond) - Start,
    Reply = I + 1,
    Elapsed.
