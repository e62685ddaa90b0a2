;; The exception handling proposal's instructions (the legacy form clang 14
;; emits for setjmp/longjmp) and tags: what the validator must accept and
;; what it must refuse, each form once (validator/code.c "exception
;; handling", validator/module.c tags). CTest's wast_validate runs these
;; through the validator; exceptions.wast runs the accepted forms.

;; ---- accepted ----------------------------------------------------------------

(module
  (type $ii (func (param i32 i64)))
  (tag $e0)
  (tag $e1 (param i32))
  (tag $e2 (type $ii))
  (tag (export "exported") (param f32))
  ;; every clause shape, each yielding the try's results
  (func (result i32)
    (try (result i32)
      (do (i32.const 1))
      (catch $e1)
      (catch $e2 (drop) (drop) (i32.const 2))
      (catch $e0 (i32.const 3))
      (catch_all (i32.const 4))))
  ;; a try with no catching instruction, with catch_all only, empty bodies
  (func (try (do)) (try (do) (catch_all)) (try (do) (catch $e0)))
  ;; block parameters go into the body; a catch starts from the tag's values
  (func (param i32) (result i32)
    (local.get 0)
    (try (param i32) (result i32) (do (i32.const 1) (i32.add)) (catch $e1)))
  ;; branches to a try's label leave the whole construct with its results
  (func (result i32)
    (try $t (result i32)
      (do (br $t (i32.const 1)))
      (catch $e1 (br_if $t (i32.const 2)) (drop) (i32.const 3))))
  ;; throw: its values, then unreachable code of any type
  (func (result i64) (throw $e2 (i32.const 1) (i64.const 2)) (i64.add))
  ;; rethrow names a catch or catch_all block, from nested blocks and tries
  (func
    (try (do)
      (catch $e1
        (drop)
        (block (loop (try (do (rethrow 3)) (catch_all (rethrow 0) (rethrow 3))))))
      (catch_all (rethrow 0))))
  ;; delegate names any label outside its try: a try body, a block, a
  ;; loop, a catch, the function
  (func
    (try $t (do (try (do) (delegate $t))))
    (block $b (try (do) (delegate $b)))
    (loop $l (try (do) (delegate $l)))
    (try (do) (catch_all (try (do) (delegate 0))))
    (try (do) (delegate 0)))
  (func (result i32) (try (result i32) (do (i32.const 0)) (delegate 0)))
  ;; catches after unreachable code, and in dead code
  (func (result i32)
    (try (result i32) (do (unreachable)) (catch $e2 (unreachable)) (catch_all (unreachable))))
  (func (unreachable) (try (do (throw $e0)) (catch $e1 (drop)) (catch_all (rethrow 0))))
)

;; tags imported and exported; the tag section sits between memory and global
(module (tag (export "t") (param i32)))
(register "m")
(module
  (import "m" "t" (tag (param i32)))
  (memory 1)
  (tag (export "u") (param i64))
  (global i32 (i32.const 0))
  (export "t" (tag 0)))
(module binary
  "\00asm" "\01\00\00\00"
  "\01\04\01\60\00\00"                   ;; type 0: [] -> []
  "\05\03\01\00\01"                      ;; memory
  "\0d\03\01\00\00"                      ;; tag section: 1 tag, exception, type 0
  "\06\01\00"                            ;; global section, empty
)

;; ---- refused: types -------------------------------------------------------------

(assert_invalid
  (module (type (func (result i32))) (tag (type 0)))
  "non-empty tag result type")
(assert_invalid
  (module (type (func (result i32))) (import "m" "t" (tag (type 0))))
  "non-empty tag result type")
(assert_invalid (module (tag (type 3))) "unknown type")
(assert_invalid (module (export "t" (tag 0))) "unknown tag")
(assert_invalid (module (func (throw 0))) "unknown tag")
(assert_invalid (module (func (try (do) (catch 0)))) "unknown tag")
(assert_invalid
  (module (tag (param i32)) (func (throw 0)))
  "type mismatch")
(assert_invalid
  (module (tag (param i32 i64)) (func (i64.const 0) (i32.const 0) (throw 0)))
  "type mismatch")
(assert_invalid
  (module (func (try (do (i32.const 0)))))
  "type mismatch")
(assert_invalid
  (module (func (result i32) (try (result i32) (do (i32.const 0)) (catch_all))))
  "type mismatch")
(assert_invalid
  (module (func (try (do) (catch_all (i32.const 0)))))
  "type mismatch")
(assert_invalid
  (module (tag (param i64)) (func (result i32) (try (result i32) (do (i32.const 0)) (catch 0))))
  "type mismatch")
(assert_invalid
  (module (tag (param i32)) (func (try (do) (catch 0))))
  "type mismatch")
(assert_invalid
  (module (func (result i64) (try (result i32) (do (i32.const 0)) (delegate 0))))
  "type mismatch")
(assert_invalid
  (module (func (result i32) (try (result i64) (do (br 0 (i32.const 1))))))
  "type mismatch")
(assert_invalid
  (module (func (param i64) (local.get 0) (try (param i32) (do (drop)))))
  "type mismatch")

;; ---- refused: labels --------------------------------------------------------------

(assert_invalid (module (func (rethrow 0))) "invalid rethrow label")
(assert_invalid (module (func (try (do (rethrow 0))))) "invalid rethrow label")
(assert_invalid (module (func (try (do) (catch_all (block (rethrow 0)))))) "invalid rethrow label")
(assert_invalid (module (func (try (do) (catch_all (try (do (rethrow 0))))))) "invalid rethrow label")
(assert_invalid (module (func (try (do) (catch_all (rethrow 2))))) "unknown label")
(assert_invalid (module (func (try (do) (delegate 1)))) "unknown label")
(assert_invalid (module (func (block (try (do) (delegate 2))))) "unknown label")

;; ---- refused: the shape of a construct (the binary format can say what
;; the text cannot) --------------------------------------------------------------

;; catch and catch_all only after a try body or a catch
(assert_invalid
  (module binary
    "\00asm" "\01\00\00\00"
    "\01\04\01\60\00\00" "\03\02\01\00" "\0d\03\01\00\00"
    "\0a\06\01\04\00\07\00\0b")                        ;; catch 0
  "catch without a matching try")
(assert_invalid
  (module binary
    "\00asm" "\01\00\00\00"
    "\01\04\01\60\00\00" "\03\02\01\00" "\0d\03\01\00\00"
    "\0a\08\01\06\00\02\40\19\0b\0b")                  ;; block catch_all end
  "catch_all without a matching try")
(assert_invalid
  (module binary
    "\00asm" "\01\00\00\00"
    "\01\04\01\60\00\00" "\03\02\01\00" "\0d\03\01\00\00"
    "\0a\0a\01\08\00\06\40\19\07\00\0b\0b")            ;; try catch_all catch 0 end
  "catch without a matching try")
(assert_invalid
  (module binary
    "\00asm" "\01\00\00\00"
    "\01\04\01\60\00\00" "\03\02\01\00" "\0d\03\01\00\00"
    "\0a\09\01\07\00\06\40\19\19\0b\0b")               ;; try catch_all catch_all end
  "catch_all without a matching try")
(assert_invalid
  (module binary
    "\00asm" "\01\00\00\00"
    "\01\04\01\60\00\00" "\03\02\01\00" "\0d\03\01\00\00"
    "\0a\0b\01\09\00\41\00\04\40\07\00\0b\0b")       ;; i32.const 0 if catch 0 end
  "catch without a matching try")
;; delegate only ends a try body
(assert_invalid
  (module binary
    "\00asm" "\01\00\00\00"
    "\01\04\01\60\00\00" "\03\02\01\00" "\0d\03\01\00\00"
    "\0a\06\01\04\00\18\00\0b")                        ;; delegate 0
  "delegate without a matching try")
(assert_invalid
  (module binary
    "\00asm" "\01\00\00\00"
    "\01\04\01\60\00\00" "\03\02\01\00" "\0d\03\01\00\00"
    "\0a\0a\01\08\00\06\40\07\00\18\00\0b")            ;; try catch 0 delegate 0
  "delegate without a matching try")
(assert_invalid
  (module binary
    "\00asm" "\01\00\00\00"
    "\01\04\01\60\00\00" "\03\02\01\00" "\0d\03\01\00\00"
    "\0a\09\01\07\00\03\40\18\00\0b\0b")               ;; loop delegate 0 end
  "delegate without a matching try")
;; else is an if's, not a try's
(assert_invalid
  (module binary
    "\00asm" "\01\00\00\00"
    "\01\04\01\60\00\00" "\03\02\01\00" "\0d\03\01\00\00"
    "\0a\08\01\06\00\06\40\05\0b\0b")                  ;; try else end
  "else without a matching if")

;; ---- refused: the binary format -----------------------------------------------------

;; the tag attribute: 0 (an exception) is the only one
(assert_malformed
  (module binary
    "\00asm" "\01\00\00\00"
    "\01\04\01\60\00\00" "\0d\03\01\01\00")
  "malformed tag attribute")
(assert_malformed
  (module binary
    "\00asm" "\01\00\00\00"
    "\01\04\01\60\00\00" "\02\08\01\01\6d\01\74\04\01\00")
  "malformed tag attribute")
;; the tag section's place: after memory, before global, once
(assert_malformed
  (module binary
    "\00asm" "\01\00\00\00"
    "\06\01\00" "\0d\01\00")
  "unexpected content after last section")
(assert_malformed
  (module binary
    "\00asm" "\01\00\00\00"
    "\0d\01\00" "\05\01\00")
  "unexpected content after last section")
(assert_malformed
  (module binary
    "\00asm" "\01\00\00\00"
    "\0d\01\00" "\0d\01\00")
  "unexpected content after last section")
;; a tag section shorter than its count says, a truncated entry
(assert_malformed
  (module binary
    "\00asm" "\01\00\00\00"
    "\01\04\01\60\00\00" "\0d\03\02\00\00")
  "count 2 exceeds the remaining 2 bytes")
(assert_malformed
  (module binary
    "\00asm" "\01\00\00\00"
    "\01\04\01\60\00\00" "\0d\02\01\00")
  "count 1 exceeds the remaining 1 bytes")
;; an export kind past the tag's
(assert_malformed
  (module binary
    "\00asm" "\01\00\00\00"
    "\07\05\01\01\78\05\00")
  "malformed export kind")
;; the exnref revision's instructions are not the ones clang 14 emits
(assert_malformed
  (module binary
    "\00asm" "\01\00\00\00"
    "\01\04\01\60\00\00" "\03\02\01\00"
    "\0a\05\01\03\00\0a\0b")                           ;; throw_ref
  "illegal opcode")
(assert_malformed
  (module binary
    "\00asm" "\01\00\00\00"
    "\01\04\01\60\00\00" "\03\02\01\00"
    "\0a\08\01\06\00\1f\40\00\0b\0b")                  ;; try_table
  "illegal opcode")
