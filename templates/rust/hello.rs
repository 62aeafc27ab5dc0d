// Proves the environment works: devenv run -- sh -c 'rustc -o /tmp/hello hello.rs && /tmp/hello'
fn main() {
    println!("hello from Rust");
}
