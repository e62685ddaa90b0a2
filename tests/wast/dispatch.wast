;; dispatch.wast — interpreters' dispatch loops
;; (engine/translate_dispatch.c): a loop whose rounds begin with value instructions
;; and a br_table over its handlers becomes a table of label addresses
;; and one `goto *`, with the index clamped to the default. Each module
;; runs a small byte code: 0 halt, 1 inc, 2 double, 3 add the next byte,
;; 4 jump to the next byte, 5 dec, 6 nop, 7 negate, 8 go on (the br_table
;; targets the loop itself), anything else the default (a trap). The
;; answers are the spec's whichever way the br_table is written: the
;; second module's targets carry a value and the third's leave a try
;; construct, so those stay a switch.

(module
  (memory 1)
  (data (i32.const 0) "\01\01\02\03\05\00")             ;; ((1+1)*2)+5 = 9
  (data (i32.const 16) "\01\04\15\ff\ff\02\02\00")       ;; 1, jump over 255 255, *4 = 4
  (data (i32.const 32) "\06\08\01\05\05\07\00")          ;; 1-1-1 = -1, negated = 1
  (data (i32.const 48) "\01\09")                         ;; opcode 9: the default
  (data (i32.const 64) "\01\ff")                         ;; opcode 255
  (data (i32.const 80) "\03\64\02\04\50")                ;; (acc + 100) * 2, 21 rounds

  (func (export "run") (param $pc i32) (result i32) (local $acc i32) (local $steps i32)
    (block $exit
      (loop $next
        (block $bad (block $op7 (block $op6 (block $op5 (block $op4
        (block $op3 (block $op2 (block $op1 (block $op0
          local.get $pc
          i32.load8_u
          local.get $pc
          i32.const 1
          i32.add
          local.set $pc
          br_table $op0 $op1 $op2 $op3 $op4 $op5 $op6 $op7 $next $bad)
          br $exit)                                                        ;; 0
          (local.set $acc (i32.add (local.get $acc) (i32.const 1))) br $next)  ;; 1
          (local.set $acc (i32.shl (local.get $acc) (i32.const 1))) br $next)  ;; 2
          (local.set $acc (i32.add (local.get $acc) (i32.load8_u (local.get $pc))))
          (local.set $pc (i32.add (local.get $pc) (i32.const 1)))
          br $next)                                                        ;; 3
          (local.set $steps (i32.add (local.get $steps) (i32.const 1)))
          (br_if $exit (i32.gt_u (local.get $steps) (i32.const 20)))
          (local.set $pc (i32.load8_u (local.get $pc)))
          br $next)                                                        ;; 4
          (local.set $acc (i32.sub (local.get $acc) (i32.const 1))) br $next)  ;; 5
          br $next)                                                        ;; 6
          (local.set $acc (i32.sub (i32.const 0) (local.get $acc))) br $next)  ;; 7
        unreachable))                                                      ;; default
    (local.get $acc))

  ;; an index (x & mask) + c: a table indexed by x & mask, each entry that
  ;; of the index it stands for (the default's beyond the br_table's)
  (func (export "fold") (param $i i32) (result i32)
    (loop $next
      (block $d (block $c7 (block $c6 (block $c5 (block $c4
      (block $c3 (block $c2 (block $c1 (block $c0
        (br_table $c0 $c1 $c2 $c3 $c4 $c5 $c6 $c7 $d
          (i32.add (i32.and (local.get $i) (i32.const 15)) (i32.const -1))))
        (return (i32.const 100)))
        (return (i32.const 101)))
        (return (i32.const 102)))
        (return (i32.const 103)))
        (return (i32.const 104)))
        (return (i32.const 105)))
        (return (i32.const 106)))
        (return (i32.const 107))))
    (i32.const 999))

  (func (export "fold3") (param $i i32) (result i32)
    (loop $next
      (block $d (block $c7 (block $c6 (block $c5 (block $c4
      (block $c3 (block $c2 (block $c1 (block $c0
        (br_table $c0 $c1 $c2 $c3 $c4 $c5 $c6 $c7 $d
          (i32.add (i32.and (local.get $i) (i32.const 7)) (i32.const 3))))
        (return (i32.const 100)))
        (return (i32.const 101)))
        (return (i32.const 102)))
        (return (i32.const 103)))
        (return (i32.const 104)))
        (return (i32.const 105)))
        (return (i32.const 106)))
        (return (i32.const 107))))
    (i32.const 999))

  ;; the index from a function's result: any i32, huge ones included
  (func (export "pick") (param $i i32) (result i32) (local $n i32)
    (loop $next
      (block $d (block $c7 (block $c6 (block $c5 (block $c4
      (block $c3 (block $c2 (block $c1 (block $c0
        (br_table $c0 $c1 $c2 $c3 $c4 $c5 $c6 $c7 $d
          (i32.add (local.get $i) (local.get $n))))
        (return (i32.const 100)))
        (return (i32.const 101)))
        (return (i32.const 102)))
        (local.set $n (i32.const 1)) (br $next))   ;; 3 -> 4 on the next round
        (return (i32.const 104)))
        (return (i32.const 105)))
        (return (i32.const 106)))
        (return (i32.const 107))))
    (i32.const 999))
)

(assert_return (invoke "run" (i32.const 0)) (i32.const 9))
(assert_return (invoke "run" (i32.const 16)) (i32.const 4))
(assert_return (invoke "run" (i32.const 32)) (i32.const 1))
(assert_trap (invoke "run" (i32.const 48)) "unreachable")
(assert_trap (invoke "run" (i32.const 64)) "unreachable")
(assert_return (invoke "run" (i32.const 80)) (i32.const 419430200))
(assert_trap (invoke "run" (i32.const 65536)) "out of bounds memory access")
(assert_return (invoke "fold" (i32.const 0)) (i32.const 999))
(assert_return (invoke "fold" (i32.const 1)) (i32.const 100))
(assert_return (invoke "fold" (i32.const 8)) (i32.const 107))
(assert_return (invoke "fold" (i32.const 9)) (i32.const 999))
(assert_return (invoke "fold" (i32.const 15)) (i32.const 999))
(assert_return (invoke "fold" (i32.const 0x23)) (i32.const 102))
(assert_return (invoke "fold" (i32.const -1)) (i32.const 999))
(assert_return (invoke "fold3" (i32.const 0)) (i32.const 103))
(assert_return (invoke "fold3" (i32.const 4)) (i32.const 107))
(assert_return (invoke "fold3" (i32.const 5)) (i32.const 999))
(assert_return (invoke "fold3" (i32.const 7)) (i32.const 999))
(assert_return (invoke "fold3" (i32.const 0x29)) (i32.const 104))
(assert_return (invoke "pick" (i32.const 0)) (i32.const 100))
(assert_return (invoke "pick" (i32.const 2)) (i32.const 102))
(assert_return (invoke "pick" (i32.const 3)) (i32.const 104))
(assert_return (invoke "pick" (i32.const 7)) (i32.const 107))
(assert_return (invoke "pick" (i32.const 8)) (i32.const 999))
(assert_return (invoke "pick" (i32.const -1)) (i32.const 999))
(assert_return (invoke "pick" (i32.const 0x7fffffff)) (i32.const 999))

;; the targets carry a value: a switch, the same answers
(module
  (func (export "run") (param $op i32) (result i32)
    (block $exit (result i32)
      (loop $next (result i32)
        (block $d (result i32) (block $c7 (result i32) (block $c6 (result i32)
        (block $c5 (result i32) (block $c4 (result i32) (block $c3 (result i32)
        (block $c2 (result i32) (block $c1 (result i32) (block $c0 (result i32)
          (br_table $c0 $c1 $c2 $c3 $c4 $c5 $c6 $c7 $d
            (i32.mul (local.get $op) (i32.const 10)) (local.get $op)))
          (br $exit (i32.add (i32.const 1))))
          (br $exit (i32.add (i32.const 2))))
          (br $exit (i32.add (i32.const 3))))
          (br $exit (i32.add (i32.const 4))))
          (br $exit (i32.add (i32.const 5))))
          (br $exit (i32.add (i32.const 6))))
          (br $exit (i32.add (i32.const 7))))
          (br $exit (i32.add (i32.const 8))))
        (br $exit (i32.add (i32.const 9)))))))

(assert_return (invoke "run" (i32.const 0)) (i32.const 1))
(assert_return (invoke "run" (i32.const 5)) (i32.const 56))
(assert_return (invoke "run" (i32.const 8)) (i32.const 89))
(assert_return (invoke "run" (i32.const 100)) (i32.const 1009))

;; a target outside a try construct that the loop is in: a switch, which
;; leaves the construct
(module
  (tag $t)
  (func (export "run") (param $op i32) (result i32) (local $r i32)
    (block $out
      (try
        (do
          (loop $next
            (block $d (block $c6 (block $c5 (block $c4
            (block $c3 (block $c2 (block $c1 (block $c0
              (br_table $c0 $c1 $c2 $c3 $c4 $c5 $c6 $out $d (local.get $op)))
              (local.set $r (i32.const 10)) (throw $t))
              (return (i32.const 11)))
              (return (i32.const 12)))
              (return (i32.const 13)))
              (return (i32.const 14)))
              (return (i32.const 15)))
              (return (i32.const 16)))
            (return (i32.const 18))))
        (catch $t (return (i32.add (local.get $r) (i32.const 100))))))
    (i32.const 17))
  ;; run left its construct: a throw after it is this function's to catch
  (func (export "after") (result i32)
    (try (result i32)
      (do (drop (call 0 (i32.const 7))) (throw $t))
      (catch $t (i32.add (call 0 (i32.const 0)) (i32.const 1000))))))

(assert_return (invoke "run" (i32.const 0)) (i32.const 110))
(assert_return (invoke "run" (i32.const 3)) (i32.const 13))
(assert_return (invoke "run" (i32.const 7)) (i32.const 17))
(assert_return (invoke "run" (i32.const 9)) (i32.const 18))
(assert_return (invoke "after") (i32.const 1110))

;; sets at the top of a round (clang's φs of the loop) that the targets do
;; instead: $k and the tee chain into $prev and $prev2 move; $m (read
;; later in the round, for the index) and $old (a copy of $pc, which the
;; round writes later) stay. The byte code: 0 halt, 1 acc += k, 2 acc *= 2, 3 acc =
;; prev + prev2 + 1, 4 k = 100 (the next round sets 7 again), 5 acc += m,
;; 6 acc += old (this opcode's address), 7 nop, else a trap. "run" jumps
;; through a table of labels; "run_try" is a switch (its halt leaves a try
;; construct), with the moved sets before it.
(module
  (memory 1)
  (data (i32.const 0) "\01\02\04\01\03\05\06\07\00")    ;; 7, 14, 21, 43, 46, 52
  (data (i32.const 16) "\04\05\04\02\01\00")             ;; 3, 6, 13
  (data (i32.const 32) "\01\08")

  (func (export "run") (param $pc i32) (result i32)
    (local $acc i32) (local $k i32) (local $m i32) (local $old i32) (local $old2 i32)
    (local $prev i32) (local $prev2 i32)
    (block $exit
      (loop $next
        (block $bad (block $op7 (block $op6 (block $op5 (block $op4
        (block $op3 (block $op2 (block $op1 (block $op0
          i32.const 7
          local.set $k
          local.get $acc
          local.tee $prev
          local.set $prev2
          i32.const 3
          local.set $m
          local.get $pc
          local.tee $old
          local.set $old2
          local.get $pc
          i32.load8_u
          local.get $m
          i32.add
          i32.const -3
          i32.add
          local.get $pc
          i32.const 1
          i32.add
          local.set $pc
          br_table $op0 $op1 $op2 $op3 $op4 $op5 $op6 $op7 $bad)
          br $exit)                                                             ;; 0
          (local.set $acc (i32.add (local.get $acc) (local.get $k))) br $next)  ;; 1
          (local.set $acc (i32.shl (local.get $acc) (i32.const 1))) br $next)   ;; 2
          (local.set $acc (i32.add (i32.add (local.get $prev) (local.get $prev2))
                                   (i32.const 1)))
          br $next)                                                             ;; 3
          (local.set $k (i32.const 100)) br $next)                              ;; 4
          (local.set $acc (i32.add (local.get $acc) (local.get $m))) br $next)  ;; 5
          (local.set $acc (i32.add (local.get $acc) (local.get $old))) br $next) ;; 6
          br $next)                                                             ;; 7
        unreachable))
    (local.get $acc))

  (tag $t)
  (func (export "run_try") (param $pc i32) (result i32)
    (local $acc i32) (local $k i32) (local $prev i32) (local $prev2 i32)
    (block $exit
      (try
        (do
          (loop $next
            (block $bad (block $op7 (block $op6 (block $op5 (block $op4
            (block $op3 (block $op2 (block $op1
              i32.const 7
              local.set $k
              local.get $acc
              local.tee $prev
              local.set $prev2
              local.get $pc
              i32.load8_u
              local.get $pc
              i32.const 1
              i32.add
              local.set $pc
              br_table $exit $op1 $op2 $op3 $op4 $op5 $op6 $op7 $bad)
              (local.set $acc (i32.add (local.get $acc) (local.get $k))) br $next)   ;; 1
              (local.set $acc (i32.shl (local.get $acc) (i32.const 1))) br $next)    ;; 2
              (local.set $acc (i32.add (i32.add (local.get $prev) (local.get $prev2))
                                       (i32.const 1)))
              br $next)                                                              ;; 3
              (local.set $k (i32.const 100)) br $next)                               ;; 4
              (local.set $acc (i32.add (local.get $acc) (i32.const 3))) br $next)    ;; 5
              (local.set $acc (i32.add (local.get $acc) (local.get $k))) br $next)   ;; 6
              br $next)                                                              ;; 7
            unreachable))
        (catch $t)))
    (local.get $acc)))

(assert_return (invoke "run" (i32.const 0)) (i32.const 52))
(assert_return (invoke "run" (i32.const 16)) (i32.const 13))
(assert_trap (invoke "run" (i32.const 32)) "unreachable")
(assert_return (invoke "run_try" (i32.const 0)) (i32.const 53))
(assert_return (invoke "run_try" (i32.const 16)) (i32.const 13))
(assert_trap (invoke "run_try" (i32.const 32)) "unreachable")

;; an index loaded from a table in memory (Lua's disptab): the jump goes by
;; the word the initial memory holds there, checked against the word
;; loaded, so a table the guest rewrote still jumps by what it loads, and
;; a load past the memory still traps
(module
  (memory 1)
  (data (i32.const 256) "\02\00\00\00\03\00\00\00\04\00\00\00\05\00\00\00"
                        "\06\00\00\00\07\00\00\00\08\00\00\00\09\00\00\00")
  (func (export "spec") (param $x i32) (result i32)
    (loop $next
      (block $d (block $c7 (block $c6 (block $c5 (block $c4
      (block $c3 (block $c2 (block $c1 (block $c0
        (br_table $c0 $c1 $c2 $c3 $c4 $c5 $c6 $c7 $d
          (i32.add
            (i32.load (i32.add (i32.shl (i32.and (local.get $x) (i32.const 7)) (i32.const 2))
                               (i32.const 256)))
            (i32.const -2))))
        (return (i32.const 100)))
        (return (i32.const 101)))
        (return (i32.const 102)))
        (return (i32.const 103)))
        (return (i32.const 104)))
        (return (i32.const 105)))
        (return (i32.const 106)))
        (return (i32.const 107))))
    (i32.const 999))
  (func (export "set") (param $k i32) (param $v i32)
    (i32.store (i32.add (i32.shl (local.get $k) (i32.const 2)) (i32.const 256)) (local.get $v)))
  ;; the table's last words are the memory's last (no data there: 0)
  (func (export "edge") (param $x i32) (result i32)
    (loop $next
      (block $d (block $c7 (block $c6 (block $c5 (block $c4
      (block $c3 (block $c2 (block $c1 (block $c0
        (br_table $c0 $c1 $c2 $c3 $c4 $c5 $c6 $c7 $d
          (i32.add
            (i32.load offset=4 (i32.add (i32.shl (i32.and (local.get $x) (i32.const 3)) (i32.const 2))
                                        (i32.const 65524)))
            (i32.const 1))))
        (return (i32.const 100)))
        (return (i32.const 101)))
        (return (i32.const 102)))
        (return (i32.const 103)))
        (return (i32.const 104)))
        (return (i32.const 105)))
        (return (i32.const 106)))
        (return (i32.const 107))))
    (i32.const 999)))

(assert_return (invoke "spec" (i32.const 0)) (i32.const 100))
(assert_return (invoke "spec" (i32.const 3)) (i32.const 103))
(assert_return (invoke "spec" (i32.const 0x0f)) (i32.const 107))
(invoke "set" (i32.const 3) (i32.const 2))
(assert_return (invoke "spec" (i32.const 3)) (i32.const 100))
(invoke "set" (i32.const 3) (i32.const 100))
(assert_return (invoke "spec" (i32.const 3)) (i32.const 999))
(invoke "set" (i32.const 3) (i32.const 0))
(assert_return (invoke "spec" (i32.const 3)) (i32.const 999))
(invoke "set" (i32.const 5) (i32.const 9))
(assert_return (invoke "spec" (i32.const 5)) (i32.const 107))
(assert_return (invoke "spec" (i32.const 4)) (i32.const 104))
(assert_return (invoke "edge" (i32.const 0)) (i32.const 101))
(assert_return (invoke "edge" (i32.const 1)) (i32.const 101))
(assert_trap (invoke "edge" (i32.const 2)) "out of bounds memory access")
(assert_trap (invoke "edge" (i32.const 7)) "out of bounds memory access")
