/// What is wrong with a package spec, completing "entry \"spec\" …", and how to fix it.
struct SpecProblem: Equatable {
    var problem: String
    var fix: String
}
